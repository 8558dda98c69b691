// Kafka topic "events" → MongoDB collection "events": insertMany per fetched batch, then commit.
'use strict';

const { Kafka, logLevel } = require('kafkajs');
const { MongoClient } = require('mongodb');

const BROKERS = (process.env.KAFKA_BROKER || 'localhost:9092').split(',');
const TOPIC = process.env.KAFKA_TOPIC || 'events';
const GROUP = process.env.KAFKA_GROUP || 'yardstick-worker';
const MONGO_URL = process.env.MONGO_URL || 'mongodb://localhost:27017/analytics_db';

const kafka = new Kafka({ clientId: 'yardstick-worker', brokers: BROKERS, logLevel: logLevel.WARN });
const consumer = kafka.consumer({ groupId: GROUP });
const mongo = new MongoClient(MONGO_URL);

async function main() {
  await mongo.connect();
  const events = mongo.db().collection('events');
  await consumer.connect();
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, heartbeat }) => {
      if (batch.messages.length === 0) return;
      const docs = batch.messages.map((message) => {
        const event = JSON.parse(message.value.toString());
        event.timestamp = new Date(event.timestamp);
        return event;
      });
      await events.insertMany(docs);
      const next = (BigInt(batch.lastOffset()) + 1n).toString();
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
      await heartbeat();
    },
  });
  console.log(`worker consuming ${TOPIC} as group ${GROUP} into ${mongo.db().databaseName}.events`);
}

async function stop() {
  try {
    await consumer.disconnect();
    await mongo.close();
  } finally {
    process.exit(0);
  }
}
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, stop);

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
