-- Merchant id in the request log's key (ADR 35): the log is read and trimmed per merchant only, so the
-- key (merchant_id, id) serves both and replaces the separate (merchant_id, id desc) index.
alter table identity.request_log drop constraint request_log_pkey;
alter table identity.request_log add constraint request_log_pkey primary key (merchant_id, id);
drop index identity.request_log_merchant_idx;
