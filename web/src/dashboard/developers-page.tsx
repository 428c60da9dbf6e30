// Developers: the merchant's API clients (create, rotate the secret, disable, enable), its publishable
// key, and its webhook endpoints (create, rotate the signing secret, enable, disable, deliveries with
// their status and response code, resend). A new secret is shown once, in a panel the user closes;
// PayFlow keeps only its hash (clients) or sealed copy (webhooks) and never shows it again. What a
// role may do is the API's decision (clients:write, webhooks:write); the page hides the buttons it
// knows the role lacks and shows the API's refusal in words otherwise.
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, messageFor, type ApiClient, type DashboardSession, type WebhookEndpoint } from './api.ts';
import { DeliveriesTable } from './webhook-deliveries.tsx';

export interface ShownSecret {
  readonly title: string;
  readonly id: string;
  readonly secret: string;
}

export function DevelopersPage({ session }: { readonly session: DashboardSession }) {
  const [secret, setSecret] = useState<ShownSecret | undefined>();
  return (
    <section aria-labelledby="developers-heading">
      <h1 id="developers-heading">Developers</h1>
      {secret && <SecretPanel secret={secret} onDone={() => setSecret(undefined)} />}
      <Clients session={session} onSecret={setSecret} />
      <Webhooks session={session} onSecret={setSecret} />
      <RequestLog />
    </section>
  );
}

export function SecretPanel({
  secret,
  onDone,
}: {
  readonly secret: ShownSecret;
  readonly onDone: () => void;
}) {
  return (
    <section className="secret-panel" aria-labelledby="secret-heading" data-testid="secret-panel">
      <h2 id="secret-heading">{secret.title}</h2>
      <p>
        Copy it now: PayFlow shows it <strong>only this once</strong>.
      </p>
      <dl className="facts">
        <dt>Id</dt>
        <dd className="mono" data-testid="secret-id">
          {secret.id}
        </dd>
        <dt>Secret</dt>
        <dd>
          <code data-testid="secret-value">{secret.secret}</code>
        </dd>
      </dl>
      <button type="button" className="small" onClick={onDone}>
        I have copied it
      </button>
    </section>
  );
}

function Clients({
  session,
  onSecret,
}: {
  readonly session: DashboardSession;
  readonly onSecret: (secret: ShownSecret) => void;
}) {
  const queryClient = useQueryClient();
  const canWrite = session.user.scopes.includes('clients:write');
  const clients = useQuery({ queryKey: ['clients'], queryFn: api.clients });
  const [description, setDescription] = useState('');
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['clients'] });
  const create = useMutation({
    mutationFn: () => api.createClient(description.trim(), session.csrfToken),
    onSuccess: async (created) => {
      setDescription('');
      onSecret({ title: 'New API client', id: created.clientId, secret: created.clientSecret });
      await refresh();
    },
  });
  const rotate = useMutation({
    mutationFn: (clientId: string) => api.rotateClient(clientId, session.csrfToken),
    onSuccess: async (rotated) => {
      onSecret({ title: 'New client secret', id: rotated.clientId, secret: rotated.clientSecret });
      await refresh();
    },
  });
  const change = useMutation({
    mutationFn: (input: { clientId: string; verb: 'disable' | 'enable' }) =>
      api.changeClient(input.clientId, input.verb, session.csrfToken),
    onSuccess: refresh,
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate();
  }
  const problem = clients.error ?? create.error ?? rotate.error ?? change.error;
  const secretClients = clients.data?.data.filter((client) => client.role === 'merchant') ?? [];
  return (
    <section aria-labelledby="clients-heading">
      <h2 id="clients-heading">API clients</h2>
      {problem && (
        <p role="alert" className="problem">
          {messageFor(problem)}
        </p>
      )}
      {clients.data && (
        <>
          <dl className="facts">
            <dt>Publishable key</dt>
            <dd className="mono" data-testid="publishable-key">
              {clients.data.publishableKey ?? 'none'}
            </dd>
          </dl>
          <div className="table-scroll">
            <table data-testid="clients">
              <caption className="visually-hidden">API clients</caption>
              <thead>
                <tr>
                  <th scope="col">Client id</th>
                  <th scope="col">Description</th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                  <th scope="col">Secret rotated</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {secretClients.map((client) => (
                  <ClientRow
                    key={client.clientId}
                    client={client}
                    canWrite={canWrite}
                    busy={rotate.isPending || change.isPending}
                    onRotate={() => rotate.mutate(client.clientId)}
                    onChange={(verb) => change.mutate({ clientId: client.clientId, verb })}
                  />
                ))}
              </tbody>
            </table>
          </div>
          {canWrite && (
            <form className="inline-form" onSubmit={submit}>
              <label htmlFor="client-description">Description of the new client (optional)</label>
              <input
                id="client-description"
                maxLength={200}
                value={description}
                onChange={(event) => setDescription(event.target.value)}
              />
              <button type="submit" disabled={create.isPending}>
                Create API client
              </button>
            </form>
          )}
        </>
      )}
    </section>
  );
}

function ClientRow(props: {
  readonly client: ApiClient;
  readonly canWrite: boolean;
  readonly busy: boolean;
  readonly onRotate: () => void;
  readonly onChange: (verb: 'disable' | 'enable') => void;
}) {
  const { client } = props;
  const active = client.status === 'active';
  return (
    <tr data-client-id={client.clientId} data-status={client.status}>
      <td className="mono">{client.clientId}</td>
      <td>{client.description ?? ''}</td>
      <td>{client.status}</td>
      <td>{new Date(client.createdAt).toLocaleString()}</td>
      <td>{client.secretRotatedAt ? new Date(client.secretRotatedAt).toLocaleString() : 'never'}</td>
      <td className="row-actions">
        {props.canWrite && (
          <>
            <button type="button" className="secondary small" disabled={props.busy} onClick={props.onRotate}>
              Rotate secret<span className="visually-hidden"> of {client.clientId}</span>
            </button>
            <button
              type="button"
              className="secondary small"
              disabled={props.busy}
              onClick={() => props.onChange(active ? 'disable' : 'enable')}
            >
              {active ? 'Disable' : 'Enable'}
              <span className="visually-hidden"> {client.clientId}</span>
            </button>
          </>
        )}
      </td>
    </tr>
  );
}

function Webhooks({
  session,
  onSecret,
}: {
  readonly session: DashboardSession;
  readonly onSecret: (secret: ShownSecret) => void;
}) {
  const queryClient = useQueryClient();
  const canWrite = session.user.scopes.includes('webhooks:write');
  const endpoints = useQuery({ queryKey: ['webhook-endpoints'], queryFn: api.webhookEndpoints });
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['webhook-endpoints'] });
  const rotate = useMutation({
    mutationFn: (id: string) => api.rotateWebhookSecret(id, session.csrfToken),
    onSuccess: async (endpoint) => {
      onSecret({ title: 'New webhook signing secret', id: endpoint.id, secret: endpoint.secret });
      await refresh();
    },
  });
  const change = useMutation({
    mutationFn: (input: { id: string; verb: 'enable' | 'disable' }) =>
      api.changeWebhookEndpoint(input.id, input.verb, session.csrfToken),
    onSuccess: refresh,
  });
  const problem = endpoints.error ?? rotate.error ?? change.error;
  return (
    <section aria-labelledby="webhooks-heading">
      <h2 id="webhooks-heading">Webhook endpoints</h2>
      {problem && (
        <p role="alert" className="problem">
          {messageFor(problem)}
        </p>
      )}
      {endpoints.data && endpoints.data.data.length === 0 && <p>No webhook endpoint yet.</p>}
      {endpoints.data && endpoints.data.data.length > 0 && (
        <ul className="endpoints" data-testid="endpoints">
          {endpoints.data.data.map((endpoint) => (
            <EndpointItem
              key={endpoint.id}
              endpoint={endpoint}
              session={session}
              canWrite={canWrite}
              busy={rotate.isPending || change.isPending}
              onRotate={() => rotate.mutate(endpoint.id)}
              onChange={(verb) => change.mutate({ id: endpoint.id, verb })}
            />
          ))}
        </ul>
      )}
      {canWrite && <EndpointForm session={session} onSecret={onSecret} />}
    </section>
  );
}

function EndpointItem(props: {
  readonly endpoint: WebhookEndpoint;
  readonly session: DashboardSession;
  readonly canWrite: boolean;
  readonly busy: boolean;
  readonly onRotate: () => void;
  readonly onChange: (verb: 'enable' | 'disable') => void;
}) {
  const { endpoint } = props;
  const [open, setOpen] = useState(false);
  const queryKey = ['endpoint-deliveries', endpoint.id];
  const deliveries = useQuery({
    queryKey,
    queryFn: () => api.endpointDeliveries(endpoint.id),
    enabled: open,
    refetchInterval: open ? 3000 : false,
  });
  const headingId = `endpoint-${endpoint.id}`;
  return (
    <li data-endpoint-id={endpoint.id} data-enabled={String(endpoint.enabled)}>
      <h3 id={headingId} className="mono">
        {endpoint.url}
      </h3>
      <p>
        {endpoint.enabled ? 'Enabled' : `Disabled (${endpoint.disabledReason ?? 'no reason'})`} ·{' '}
        {endpoint.failureCount} failed attempts since the last success ·{' '}
        <span className="mono">{endpoint.id}</span>
      </p>
      <p className="hint">Events: {endpoint.eventTypes.join(', ')}</p>
      <div className="row-actions">
        <button type="button" className="secondary small" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? 'Hide deliveries' : 'Show deliveries'}
          <span className="visually-hidden"> of {endpoint.url}</span>
        </button>
        {props.canWrite && (
          <>
            <button type="button" className="secondary small" disabled={props.busy} onClick={props.onRotate}>
              Rotate signing secret<span className="visually-hidden"> of {endpoint.url}</span>
            </button>
            <button
              type="button"
              className="secondary small"
              disabled={props.busy}
              onClick={() => props.onChange(endpoint.enabled ? 'disable' : 'enable')}
            >
              {endpoint.enabled ? 'Disable' : 'Enable'}
              <span className="visually-hidden"> {endpoint.url}</span>
            </button>
          </>
        )}
      </div>
      {open && (
        <div aria-labelledby={headingId} role="region">
          {deliveries.error && (
            <p role="alert" className="problem">
              {messageFor(deliveries.error)}
            </p>
          )}
          {deliveries.data && (
            <DeliveriesTable
              session={props.session}
              deliveries={deliveries.data.data}
              queryKey={queryKey}
              caption={`Deliveries to ${endpoint.url}`}
            />
          )}
        </div>
      )}
    </li>
  );
}

function EndpointForm({
  session,
  onSecret,
}: {
  readonly session: DashboardSession;
  readonly onSecret: (secret: ShownSecret) => void;
}) {
  const queryClient = useQueryClient();
  const eventTypes = useQuery({ queryKey: ['webhook-event-types'], queryFn: api.webhookEventTypes });
  const [url, setUrl] = useState('');
  const [chosen, setChosen] = useState<readonly string[]>([]);
  const create = useMutation({
    mutationFn: () => api.createWebhookEndpoint({ url: url.trim(), eventTypes: chosen }, session.csrfToken),
    onSuccess: async (endpoint) => {
      setUrl('');
      setChosen([]);
      onSecret({ title: 'New webhook signing secret', id: endpoint.id, secret: endpoint.secret });
      await queryClient.invalidateQueries({ queryKey: ['webhook-endpoints'] });
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate();
  }
  function toggle(type: string, on: boolean) {
    setChosen(on ? [...chosen, type] : chosen.filter((item) => item !== type));
  }
  return (
    <form className="endpoint-form" onSubmit={submit} aria-labelledby="new-endpoint-heading">
      <h3 id="new-endpoint-heading">New endpoint</h3>
      <label htmlFor="endpoint-url">Endpoint URL</label>
      <input
        id="endpoint-url"
        type="url"
        required
        placeholder="https://example.com/payflow/webhooks"
        value={url}
        onChange={(event) => setUrl(event.target.value)}
      />
      <fieldset>
        <legend>Events to send</legend>
        {eventTypes.data?.data.map((type) => (
          <label key={type} className="check">
            <input
              type="checkbox"
              checked={chosen.includes(type)}
              onChange={(event) => toggle(type, event.target.checked)}
            />{' '}
            {type}
          </label>
        ))}
      </fieldset>
      {create.error && (
        <p role="alert" className="problem">
          {messageFor(create.error)}
        </p>
      )}
      <button type="submit" disabled={create.isPending || chosen.length === 0}>
        Add endpoint
      </button>
    </form>
  );
}

/**
 * The merchant's recent API requests (ADR 32): method, path, status, time, request id, duration and
 * who called; never a body. Written by the API in batches, so a request shows within a few seconds.
 */
function RequestLog() {
  const requests = useQuery({ queryKey: ['request-log'], queryFn: api.requestLog, refetchInterval: 5_000 });
  return (
    <section aria-labelledby="request-log-heading">
      <h2 id="request-log-heading">Recent API requests</h2>
      <p className="hint">
        The latest requests of this account&apos;s API clients, publishable key and dashboard users (the last
        200 are kept; no bodies, no query strings). Refreshed every 5 seconds.
      </p>
      {requests.error && (
        <p role="alert" className="problem">
          {messageFor(requests.error)}
        </p>
      )}
      {requests.data && requests.data.data.length === 0 && <p>No API request yet.</p>}
      {requests.data && requests.data.data.length > 0 && (
        <div
          className="table-scroll"
          tabIndex={0}
          role="region"
          aria-label="Recent API requests (scrolls sideways)"
        >
          <table data-testid="request-log">
            <caption className="visually-hidden">Recent API requests</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Method</th>
                <th scope="col">Path</th>
                <th scope="col" className="number">
                  Status
                </th>
                <th scope="col" className="number">
                  Duration
                </th>
                <th scope="col">Request id</th>
                <th scope="col">Caller</th>
              </tr>
            </thead>
            <tbody>
              {requests.data.data.map((entry) => (
                <tr
                  key={entry.requestId + entry.at}
                  data-request-id={entry.requestId}
                  data-status={entry.status}
                >
                  <td>{new Date(entry.at).toLocaleString()}</td>
                  <td>{entry.method}</td>
                  <td className="mono">{entry.path}</td>
                  <td className="number">{entry.status}</td>
                  <td className="number">{entry.durationMs} ms</td>
                  <td className="mono">{entry.requestId}</td>
                  <td className="mono">{entry.clientId}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
