-- The bulletins that ask for an acknowledgement, by deadline: the escalation loop (every tick)
-- and the watch floor ("awaiting our acknowledgement") look them up without reading every
-- bulletin's JSON.
CREATE INDEX bulletins_ack_deadline ON bulletins (json_extract(json, '$.ack_required_by'))
    WHERE json_extract(json, '$.ack_required_by') IS NOT NULL;
