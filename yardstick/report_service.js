// GET /stats?site_id=...&date=YYYY-MM-DD, aggregated from the raw events of that day on every
// request (no rollups: that is the design the yardstick measures).
'use strict';

const express = require('express');
const { MongoClient } = require('mongodb');

const PORT = Number(process.env.PORT || process.env.REPORT_PORT || 4000);
const HOST = process.env.BIND_HOST || '0.0.0.0';
const MONGO_URL = process.env.MONGO_URL || 'mongodb://localhost:27017/analytics_db';

const mongo = new MongoClient(MONGO_URL);
const app = express();
app.disable('x-powered-by');

app.get('/stats', async (req, res) => {
  const siteId = req.query.site_id;
  const date = req.query.date === undefined ? new Date().toISOString().slice(0, 10) : req.query.date;
  if (typeof siteId !== 'string' || siteId.length === 0) return res.status(400).json({ error: 'site_id is required' });
  if (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(date))) {
    return res.status(400).json({ error: 'date must be YYYY-MM-DD' });
  }
  const from = new Date(`${date}T00:00:00.000Z`);
  const to = new Date(from.getTime() + 24 * 3600 * 1000);
  try {
    const [result] = await mongo.db().collection('events').aggregate([
      { $match: { site_id: siteId, timestamp: { $gte: from, $lt: to } } },
      {
        $facet: {
          views: [{ $match: { event_type: 'page_view' } }, { $count: 'n' }],
          users: [{ $match: { user_id: { $type: 'string' } } }, { $group: { _id: '$user_id' } }, { $count: 'n' }],
          paths: [
            { $match: { event_type: 'page_view' } },
            { $group: { _id: '$path', views: { $sum: 1 } } },
            { $sort: { views: -1, _id: 1 } },
            { $limit: 10 },
          ],
        },
      },
    ]).toArray();
    res.json({
      site_id: siteId,
      date,
      total_views: result.views.length ? result.views[0].n : 0,
      unique_users: result.users.length ? result.users[0].n : 0,
      top_paths: result.paths.map((p) => ({ path: p._id, views: p.views })),
    });
  } catch (err) {
    console.error('stats failed:', err.message);
    res.status(500).json({ error: 'database error' });
  }
});

async function main() {
  await mongo.connect();
  // Events by site and time: the index a /stats query of this design needs.
  await mongo.db().collection('events').createIndex({ site_id: 1, timestamp: 1 });
  app.listen(PORT, HOST, () => console.log(`report_service listening on ${HOST}:${PORT}`));
}

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => mongo.close().finally(() => process.exit(0)));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
