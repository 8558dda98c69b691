// Helpers for scripts/yardstick (not part of the yardstick's design):
//   node bench_tools.js create-topic TOPIC PARTITIONS   kafkajs admin; no-op if it exists
//   node bench_tools.js count                            events in MongoDB (collection metadata)
//   node bench_tools.js busiest-day SITE DAY...          the DAY with the most events of SITE
//   node bench_tools.js drain EXPECTED LOAD_END_MS STALL_S
//       polls the events count every 0.5 s until it reached EXPECTED and then did not grow for
//       3 s, or did not grow for STALL_S seconds; prints
//       "<count at start> <final count> <epoch ms of the last increase>"
// Environment: KAFKA_BROKER, MONGO_URL as for the services.
'use strict';

const { Kafka, logLevel } = require('kafkajs');
const { MongoClient } = require('mongodb');

const BROKERS = (process.env.KAFKA_BROKER || 'localhost:9092').split(',');
const MONGO_URL = process.env.MONGO_URL || 'mongodb://localhost:27017/analytics_db';
const SETTLE_MS = 3000;

async function withEvents(fn) {
  const client = new MongoClient(MONGO_URL);
  await client.connect();
  try {
    return await fn(client.db().collection('events'));
  } finally {
    await client.close();
  }
}

const commands = {
  async 'create-topic'(topic, partitions) {
    const admin = new Kafka({ clientId: 'yardstick-admin', brokers: BROKERS, logLevel: logLevel.WARN }).admin();
    await admin.connect();
    try {
      const existing = await admin.listTopics();
      if (!existing.includes(topic)) {
        await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: Number(partitions) }] });
      }
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      console.log(meta.topics[0].partitions.length);
    } finally {
      await admin.disconnect();
    }
  },

  async count() {
    console.log(await withEvents((events) => events.estimatedDocumentCount()));
  },

  async 'busiest-day'(site, ...days) {
    const counts = await withEvents((events) => Promise.all(days.map((day) => {
      const from = new Date(`${day}T00:00:00.000Z`);
      const to = new Date(from.getTime() + 24 * 3600 * 1000);
      return events.countDocuments({ site_id: site, timestamp: { $gte: from, $lt: to } });
    })));
    let best = 0;
    counts.forEach((n, i) => { if (n > counts[best]) best = i; });
    console.log(`${days[best]} ${counts[best]}`);
  },

  async drain(expected, loadEndMs, stallSeconds) {
    await withEvents(async (events) => {
      const start = await events.estimatedDocumentCount();
      let last = start;
      let lastIncrease = Number(loadEndMs);
      let lastChange = Date.now();
      // Until EXPECTED are stored, then a few more seconds for the requests wrk did not count
      // (in flight when it stopped); or until the count has not grown for STALL_S seconds.
      for (;;) {
        const quiet = Date.now() - lastChange;
        if (quiet >= Number(stallSeconds) * 1000) break;
        if (last >= Number(expected) && quiet >= SETTLE_MS) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
        const n = await events.estimatedDocumentCount();
        if (n > last) {
          last = n;
          lastIncrease = Date.now();
          lastChange = lastIncrease;
        }
      }
      console.log(`${start} ${last} ${lastIncrease}`);
    });
  },
};

const [command, ...args] = process.argv.slice(2);
if (!commands[command]) {
  console.error(`usage: node bench_tools.js ${Object.keys(commands).join('|')} ...`);
  process.exit(2);
}
commands[command](...args).catch((err) => {
  console.error(err);
  process.exit(1);
});
