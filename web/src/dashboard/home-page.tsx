// Home: the merchant's balances (GET /balance: pending, available, in transit, authorized per
// currency) and, per currency, bar charts of the last 30 days (GET /v1/payments/volume): captured
// volume, payments, approval rate and refunds, drawn as SVG with no chart library; the same figures
// are in a table below them.
import { useQuery } from '@tanstack/react-query';
import { formatAmount } from '../shared/money.ts';
import { api, messageFor, type VolumeDay } from './api.ts';

export const homeDays = 30;

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
      <h2>Last {homeDays} days</h2>
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
            <CurrencyCharts key={series.currency} currency={series.currency} days={series.days} />
          ))
        ))}
    </section>
  );
}

const chartWidth = 640;
const chartHeight = 120;
const labelHeight = 20;

/** The day's approval rate in whole percent (authorized of created), or undefined without payments. */
function approvalPercent(day: VolumeDay): number | undefined {
  return day.count === 0 ? undefined : Math.round((100 * day.authorizedCount) / day.count);
}

function CurrencyCharts({
  currency,
  days,
}: {
  readonly currency: string;
  readonly days: readonly VolumeDay[];
}) {
  // Sums arrive as decimal strings (ADR 27): added as bigint, exact; Number() only scales the bars.
  const captured = days.reduce((sum, day) => sum + BigInt(day.capturedAmount), 0n);
  const refunded = days.reduce((sum, day) => sum + BigInt(day.refundedAmount), 0n);
  const payments = days.reduce((sum, day) => sum + day.count, 0);
  const authorized = days.reduce((sum, day) => sum + day.authorizedCount, 0);
  const rate = payments === 0 ? '—' : `${Math.round((100 * authorized) / payments)} %`;
  return (
    <div className="currency-charts">
      <h3>{currency}</h3>
      <DayBars
        testId={`volume-${currency}`}
        caption={`${currency}: ${formatAmount(captured, currency)} captured from ${days.length} days`}
        days={days}
        value={(day) => Number(day.capturedAmount)}
        describe={(day) =>
          `${formatAmount(day.capturedAmount, currency)} (${day.capturedCount} captured of ${day.count})`
        }
      />
      <DayBars
        testId={`payments-${currency}`}
        caption={`${currency}: ${payments} payments`}
        days={days}
        value={(day) => day.count}
        describe={(day) => `${day.count} payments`}
      />
      <DayBars
        testId={`approval-${currency}`}
        caption={`${currency}: approval rate ${rate}`}
        days={days}
        value={(day) => approvalPercent(day) ?? 0}
        highest={100}
        describe={(day) => {
          const percent = approvalPercent(day);
          return percent === undefined
            ? 'no payments'
            : `${percent} % (${day.authorizedCount} of ${day.count})`;
        }}
      />
      <DayBars
        testId={`refunds-${currency}`}
        caption={`${currency}: ${formatAmount(refunded, currency)} refunded`}
        days={days}
        value={(day) => Number(day.refundedAmount)}
        describe={(day) => `${formatAmount(day.refundedAmount, currency)} refunded`}
      />
      <details>
        <summary>The figures</summary>
        <div className="table-scroll">
          <table data-testid={`figures-${currency}`}>
            <thead>
              <tr>
                <th scope="col">Day (UTC)</th>
                <th scope="col" className="number">
                  Payments
                </th>
                <th scope="col" className="number">
                  Approval rate
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
              {days.map((day) => {
                const percent = approvalPercent(day);
                return (
                  <tr key={day.date}>
                    <td>{day.date}</td>
                    <td className="number">{day.count}</td>
                    <td className="number">{percent === undefined ? '—' : `${percent} %`}</td>
                    <td className="number">{formatAmount(day.capturedAmount, currency)}</td>
                    <td className="number">{formatAmount(day.refundedAmount, currency)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </details>
    </div>
  );
}

interface DayBarsProps {
  readonly testId: string;
  readonly caption: string;
  readonly days: readonly VolumeDay[];
  /** The bar's height, in the series' own unit (only its ratio to the highest matters). */
  readonly value: (day: VolumeDay) => number;
  /** The top of the scale (default: the highest day). */
  readonly highest?: number;
  /** The bar's tooltip after its date. */
  readonly describe: (day: VolumeDay) => string;
}

function DayBars({ testId, caption, days, value, highest, describe }: DayBarsProps) {
  const top = highest ?? Math.max(1, ...days.map(value));
  const slot = chartWidth / days.length;
  const titleId = `${testId}-title`;
  return (
    <figure className="chart" data-testid={testId}>
      <figcaption id={titleId}>{caption}</figcaption>
      <svg
        viewBox={`0 0 ${chartWidth} ${chartHeight + labelHeight}`}
        role="img"
        aria-labelledby={titleId}
        preserveAspectRatio="none"
      >
        <line x1="0" y1={chartHeight} x2={chartWidth} y2={chartHeight} className="axis" />
        {days.map((day, index) => {
          const height = Math.round((value(day) / top) * (chartHeight - 10));
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
                  {day.date}: {describe(day)}
                </title>
              </rect>
              {index % 5 === (days.length - 1) % 5 ? (
                <text x={index * slot + slot / 2} y={chartHeight + 15} textAnchor="middle" className="label">
                  {day.date.slice(5)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
