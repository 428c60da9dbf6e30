-- Events reach a group from a broker in the broker's order, which a redelivery can change (a worker
-- that died holding messages, a nak). The consumer checks the log instead: an event waits while an
-- earlier event of its aggregate is neither handled nor dead for the group. This index serves that.
create index log_aggregate on events.log (aggregate_id, position);
