// Home: the merchant's balances (GET /balance: pending, available, in transit, authorized per
// currency) and a bar chart of the last 14 days' captured volume per currency (GET /v1/payments/volume),
// drawn as SVG with no chart library; the same figures are in a table below each chart.
import { useQuery } from '@tanstack/react-query';
import { formatAmount } from '../shared/money.ts';
import { api, messageFor, type VolumeDay } from './api.ts';

export const homeDays = 14;

export function HomePage() {
  const balance = useQuery({ queryKey: ['balance'], queryFn: api.balance });
  const volume = useQuery({ queryKey: ['volume', homeDays], queryFn: () => api.volume(homeDays) });
  return (
    <section aria-labelledby="home-heading">
      <h1 id="home-heading">Home</h1>
      <h2>Balance</h2>
      {balance.error && (
        <p role="alert" className="problem">
          {messageFor(balance.error)}
        </p>
      )}
      {balance.data &&
        (balance.data.balances.length === 0 ? (
          <p>No money has moved yet.</p>
        ) : (
          <div className="table-scroll">
            <table data-testid="balances">
              <thead>
                <tr>
                  <th scope="col">Currency</th>
                  <th scope="col" className="number">
                    Pending
                  </th>
                  <th scope="col" className="number">
                    Available
                  </th>
                  <th scope="col" className="number">
                    In transit
                  </th>
                  <th scope="col" className="number">
                    Authorized
                  </th>
                </tr>
              </thead>
              <tbody>
                {balance.data.balances.map((row) => (
                  <tr key={row.currency}>
                    <th scope="row">{row.currency}</th>
                    <td className="number">{formatAmount(row.pending, row.currency)}</td>
                    <td className="number">{formatAmount(row.available, row.currency)}</td>
                    <td className="number">{formatAmount(row.inTransit, row.currency)}</td>
                    <td className="number">{formatAmount(row.authorized, row.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      <p className="hint">
        Pending: captured less refunds, not yet settled. Available: settled, not yet paid out. In transit:
        paid out, not yet confirmed by the bank. Authorized: held by open authorizations.
      </p>
      <h2>Captured volume, last {homeDays} days</h2>
      {volume.error && (
        <p role="alert" className="problem">
          {messageFor(volume.error)}
        </p>
      )}
      {volume.data &&
        (volume.data.currencies.length === 0 ? (
          <p>No payments in the last {homeDays} days.</p>
        ) : (
          volume.data.currencies.map((series) => (
            <VolumeChart key={series.currency} currency={series.currency} days={series.days} />
          ))
        ))}
    </section>
  );
}

const chartWidth = 640;
const chartHeight = 180;
const labelHeight = 20;

function VolumeChart({ currency, days }: { readonly currency: string; readonly days: readonly VolumeDay[] }) {
  // Sums arrive as decimal strings (ADR 27): added as bigint, exact; Number() only scales the bars.
  const highest = Math.max(1, ...days.map((day) => Number(day.capturedAmount)));
  const slot = chartWidth / days.length;
  const total = days.reduce((sum, day) => sum + BigInt(day.capturedAmount), 0n);
  const titleId = `volume-${currency}`;
  return (
    <figure className="chart" data-testid={`volume-${currency}`}>
      <figcaption id={titleId}>
        {currency}: {formatAmount(total, currency)} captured from {days.length} days
      </figcaption>
      <svg
        viewBox={`0 0 ${chartWidth} ${chartHeight + labelHeight}`}
        role="img"
        aria-labelledby={titleId}
        preserveAspectRatio="none"
      >
        <line x1="0" y1={chartHeight} x2={chartWidth} y2={chartHeight} className="axis" />
        {days.map((day, index) => {
          const height = Math.round((Number(day.capturedAmount) / highest) * (chartHeight - 10));
          return (
            <g key={day.date}>
              <rect
                x={index * slot + slot * 0.15}
                y={chartHeight - height}
                width={slot * 0.7}
                height={height}
                className="bar"
              >
                <title>
                  {day.date}: {formatAmount(day.capturedAmount, currency)} ({day.capturedCount} captured of{' '}
                  {day.count})
                </title>
              </rect>
              {index % 2 === days.length % 2 ? null : (
                <text x={index * slot + slot / 2} y={chartHeight + 15} textAnchor="middle" className="label">
                  {day.date.slice(5)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <details>
        <summary>The figures</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">Day (UTC)</th>
              <th scope="col" className="number">
                Payments
              </th>
              <th scope="col" className="number">
                Captured
              </th>
              <th scope="col" className="number">
                Refunded
              </th>
            </tr>
          </thead>
          <tbody>
            {days.map((day) => (
              <tr key={day.date}>
                <td>{day.date}</td>
                <td className="number">{day.count}</td>
                <td className="number">{formatAmount(day.capturedAmount, currency)}</td>
                <td className="number">{formatAmount(day.refundedAmount, currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
