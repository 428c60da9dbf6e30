// The card fields. Values live only in this component's state and go only to POST /tokens: never
// to a log, the URL, storage or the merchant. Autocomplete hints let the browser fill saved cards.
import { useState, type FormEvent } from 'react';
import {
  brandNames,
  cvcLength,
  detectBrand,
  digitsOf,
  expiryInPast,
  formatCardNumber,
  luhnValid,
  parseExpiry,
} from '../shared/card.ts';
import type { CardInput } from './api.ts';

interface Props {
  readonly payLabel: string;
  readonly busy: boolean;
  readonly onSubmit: (card: CardInput) => void;
  /** Changes when the form must be emptied (after a decline: another card). */
  readonly resetKey: number;
}

export function CardForm(props: Props) {
  return <CardFields key={props.resetKey} {...props} />;
}

function CardFields({ payLabel, busy, onSubmit }: Props) {
  const [number, setNumber] = useState('');
  const [expiry, setExpiry] = useState('');
  const [cvc, setCvc] = useState('');
  const [name, setName] = useState('');
  const [problems, setProblems] = useState<Record<string, string>>({});
  const digits = digitsOf(number);
  const brand = detectBrand(digits);

  function validate(): Record<string, string> {
    const found: Record<string, string> = {};
    if (!luhnValid(digits)) found['number'] = 'Enter a valid card number.';
    const parsed = parseExpiry(expiry);
    if (!parsed) found['expiry'] = 'Enter the expiry date as MM/YY.';
    else if (expiryInPast(parsed, new Date())) found['expiry'] = 'This card has expired.';
    if (!new RegExp(`^\\d{${cvcLength(brand)}}$`).test(cvc))
      found['cvc'] = `Enter the ${cvcLength(brand)}-digit security code.`;
    return found;
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    const found = validate();
    setProblems(found);
    const parsed = parseExpiry(expiry);
    if (Object.keys(found).length > 0 || !parsed) return;
    onSubmit({
      number: digits,
      expMonth: parsed.month,
      expYear: parsed.year,
      cvc,
      ...(name.trim() !== '' && { holderName: name.trim() }),
    });
  }

  const describedBy = (field: string) => (problems[field] ? `${field}-problem` : undefined);
  return (
    <form onSubmit={submit} noValidate aria-label="Card details">
      <label htmlFor="card-number">Card number</label>
      <div className="with-badge">
        <input
          id="card-number"
          name="cardnumber"
          inputMode="numeric"
          autoComplete="cc-number"
          placeholder="1234 1234 1234 1234"
          value={formatCardNumber(digits)}
          onChange={(event) => setNumber(event.target.value)}
          aria-invalid={problems['number'] ? true : undefined}
          aria-describedby={describedBy('number')}
        />
        <span className="badge" aria-live="polite" data-testid="card-brand">
          {brandNames[brand]}
        </span>
      </div>
      {problems['number'] && (
        <p id="number-problem" className="field-problem">
          {problems['number']}
        </p>
      )}
      <div className="row">
        <div>
          <label htmlFor="card-expiry">Expiry (MM/YY)</label>
          <input
            id="card-expiry"
            name="exp-date"
            inputMode="numeric"
            autoComplete="cc-exp"
            placeholder="MM/YY"
            value={expiry}
            onChange={(event) => setExpiry(event.target.value.slice(0, 7))}
            aria-invalid={problems['expiry'] ? true : undefined}
            aria-describedby={describedBy('expiry')}
          />
          {problems['expiry'] && (
            <p id="expiry-problem" className="field-problem">
              {problems['expiry']}
            </p>
          )}
        </div>
        <div>
          <label htmlFor="card-cvc">Security code (CVC)</label>
          <input
            id="card-cvc"
            name="cvc"
            inputMode="numeric"
            autoComplete="cc-csc"
            placeholder={brand === 'amex' ? '1234' : '123'}
            value={cvc}
            onChange={(event) => setCvc(digitsOf(event.target.value).slice(0, 4))}
            aria-invalid={problems['cvc'] ? true : undefined}
            aria-describedby={describedBy('cvc')}
          />
          {problems['cvc'] && (
            <p id="cvc-problem" className="field-problem">
              {problems['cvc']}
            </p>
          )}
        </div>
      </div>
      <label htmlFor="card-name">Name on card (optional)</label>
      <input
        id="card-name"
        name="ccname"
        autoComplete="cc-name"
        value={name}
        maxLength={100}
        onChange={(event) => setName(event.target.value)}
      />
      <button type="submit" disabled={busy}>
        {busy ? 'Processing…' : payLabel}
      </button>
    </form>
  );
}
