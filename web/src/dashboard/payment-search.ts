// The payments search as the address keeps it: the API's own query parameters (status, last4,
// reference, email, currency, amountMin/amountMax in minor units, createdFrom/createdTo as ISO
// times), so a search is a link, and the CSV export takes the same query. The form shows people
// dates and amounts in major units; these functions translate both ways.
import { decimalToMinor, minorToDecimalString } from '../shared/money.ts';

export interface SearchForm {
  readonly status: string;
  readonly last4: string;
  readonly reference: string;
  readonly email: string;
  readonly currency: string;
  /** Major units as typed, in `currency`. */
  readonly amountFrom: string;
  readonly amountTo: string;
  /** yyyy-mm-dd, the user's local days; `to` includes its whole day. */
  readonly createdFrom: string;
  readonly createdTo: string;
}

export const emptySearch: SearchForm = {
  status: '',
  last4: '',
  reference: '',
  email: '',
  currency: '',
  amountFrom: '',
  amountTo: '',
  createdFrom: '',
  createdTo: '',
};

function localDay(iso: string | null, shiftDays = 0): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  date.setDate(date.getDate() + shiftDays);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function startOfLocalDay(day: string, shiftDays = 0): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) return undefined;
  return new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + shiftDays).toISOString();
}

/** The form for an address's query (what a reload or a shared link shows). */
export function formOf(search: string): SearchForm {
  const query = new URLSearchParams(search);
  const currency = query.get('currency') ?? '';
  const amount = (name: string) => {
    const minor = query.get(name);
    return minor && /^\d+$/.test(minor) && currency ? minorToDecimalString(Number(minor), currency) : '';
  };
  return {
    status: query.get('status') ?? '',
    last4: query.get('last4') ?? '',
    reference: query.get('reference') ?? '',
    email: query.get('email') ?? '',
    currency,
    amountFrom: amount('amountMin'),
    amountTo: amount('amountMax'),
    createdFrom: localDay(query.get('createdFrom')),
    // createdTo is exclusive: the next day's start, shown as the last day included.
    createdTo: localDay(query.get('createdTo'), -1),
  };
}

export type QueryResult =
  { readonly ok: true; readonly query: string } | { readonly ok: false; readonly problem: string };

/** The API query for a filled form, or what is wrong with it. */
export function queryOf(form: SearchForm): QueryResult {
  const query = new URLSearchParams();
  const text = (name: string, value: string) => {
    if (value.trim() !== '') query.set(name, value.trim());
  };
  text('status', form.status);
  if (form.last4.trim() !== '' && !/^\d{4}$/.test(form.last4.trim()))
    return { ok: false, problem: 'Card last 4 is four digits.' };
  text('last4', form.last4);
  text('reference', form.reference);
  text('email', form.email);
  text('currency', form.currency);
  for (const [name, value] of [
    ['amountMin', form.amountFrom],
    ['amountMax', form.amountTo],
  ] as const) {
    if (value.trim() === '') continue;
    if (!form.currency) return { ok: false, problem: 'Pick a currency to search by amount.' };
    const minor = decimalToMinor(value, form.currency);
    if (minor === undefined) return { ok: false, problem: `${value} is not an amount in ${form.currency}.` };
    query.set(name, String(minor));
  }
  const from = form.createdFrom ? startOfLocalDay(form.createdFrom) : undefined;
  if (from) query.set('createdFrom', from);
  const to = form.createdTo ? startOfLocalDay(form.createdTo, 1) : undefined;
  if (to) query.set('createdTo', to);
  return { ok: true, query: query.toString() };
}
