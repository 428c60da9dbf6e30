// The settlement module's environment variables (ADR 30): declared here, listed on its manifest (so the
// app validates them at start and the README's configuration table shows them), read with
// `context.settings(settlementSettings)`.
import {
  ConfigError,
  declareSettings,
  integer,
  text,
  variable,
  type Settings,
} from '../../platform/settings.ts';

export const settlementSettings = declareSettings({
  settlementFeeBps: variable(
    'SETTLEMENT_FEE_BPS',
    '290',
    "Default merchant price: PayFlow's fee per capture in basis points of its amount (290 = 2.9 %); `payflow merchants pricing set` overrides it per merchant.",
    integer(0, 10000),
  ),
  settlementFeeFixed: variable(
    'SETTLEMENT_FEE_FIXED',
    'USD:30,EUR:25,GBP:20',
    'Default fixed fee per capture, in minor units per currency (`USD:30,EUR:25`); currencies not listed pay none.',
    text,
  ),
  settlementAcquirerCostBps: variable(
    'SETTLEMENT_ACQUIRER_COST_BPS',
    '150',
    'What PayFlow expects the acquirer to keep of each capture (interchange, scheme fees, markup), in basis points; posted to `acquirer_costs` at settlement.',
    integer(0, 10000),
  ),
  settlementChunkSize: variable(
    'SETTLEMENT_CHUNK_SIZE',
    '1000',
    'Captures and refunds committed per chunk of the settlement job (one batch per chunk).',
    integer(1, 100000),
  ),
  settlementSchedule: variable(
    'SETTLEMENT_SCHEDULE',
    '00:30',
    'When the worker settles the previous UTC day, `HH:MM` UTC, or `off` (then only `payflow settlement run`).',
    (raw, name) => {
      const value = raw.trim();
      if (value === 'off' || /^([01]\d|2[0-3]):[0-5]\d$/.test(value)) return value;
      throw new ConfigError(name, `must be HH:MM (UTC) or off (got "${raw}")`);
    },
  ),
});

export type SettlementVariables = Settings<typeof settlementSettings.variables>;
