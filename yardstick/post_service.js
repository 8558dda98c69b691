// POST /event → Kafka topic "events", one record per event (the original design, in Node).
// Answers 202 only after Kafka acknowledged every record of the request (acks=all).
'use strict';

const express = require('express');
const { Kafka, Partitioners, logLevel } = require('kafkajs');

const PORT = Number(process.env.PORT || process.env.INGEST_PORT || 3000);
const HOST = process.env.BIND_HOST || '0.0.0.0';
const BROKERS = (process.env.KAFKA_BROKER || 'localhost:9092').split(',');
const TOPIC = process.env.KAFKA_TOPIC || 'events';

const kafka = new Kafka({ clientId: 'yardstick-post-service', brokers: BROKERS, logLevel: logLevel.WARN });
const producer = kafka.producer({
  createPartitioner: Partitioners.DefaultPartitioner,
  allowAutoTopicCreation: false,
});

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

// Returns an error message, or null if the event is acceptable (then it has a timestamp).
function validate(event) {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return 'event must be an object';
  for (const field of ['site_id', 'event_type', 'path']) {
    if (typeof event[field] !== 'string' || event[field].length === 0) return `${field} must be a non-empty string`;
  }
  if (event.timestamp === undefined || event.timestamp === null) {
    event.timestamp = new Date().toISOString();
  } else if (typeof event.timestamp !== 'string' || !ISO_8601.test(event.timestamp) || Number.isNaN(Date.parse(event.timestamp))) {
    return 'timestamp must be an ISO 8601 date-time';
  }
  return null;
}

const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '1mb' }));

app.post('/event', async (req, res) => {
  const events = Array.isArray(req.body) ? req.body : [req.body];
  if (events.length === 0) return res.status(400).json({ error: 'empty batch' });
  const messages = [];
  for (let i = 0; i < events.length; i++) {
    const error = validate(events[i]);
    if (error) return res.status(400).json({ error, index: i });
    messages.push({ key: events[i].site_id, value: JSON.stringify(events[i]) });
  }
  try {
    await producer.send({ topic: TOPIC, acks: -1, messages });
    res.status(202).json({ accepted: messages.length });
  } catch (err) {
    console.error('kafka send failed:', err.message);
    res.status(503).json({ error: 'kafka unavailable' });
  }
});

// Malformed JSON or an oversized body: a JSON error instead of express's HTML page.
app.use((err, req, res, next) => {
  if (res.headersSent) return next(err);
  res.status(err.status || err.statusCode || 400).json({ error: err.type || err.message || 'bad request' });
});

async function main() {
  await producer.connect();
  app.listen(PORT, HOST, () => console.log(`post_service listening on ${HOST}:${PORT}, topic ${TOPIC}`));
}

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => producer.disconnect().finally(() => process.exit(0)));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
