//! A fresh database set up by several processes at once, over the wire: ingestion stores the
//! day's first salt while a worker creates its indexes, as on a new deployment's first minute.

use std::time::Duration;

use beacon::store::MongoStore;
use beacon_event::Day;
use mongodb::bson::{doc, Document};

/// A store on a database of its own, with a client of its own (its own connections, as another
/// process would have).
async fn client_of(db: &str) -> MongoStore {
    let url = std::env::var("MONGO_URL").unwrap_or_else(|_| "mongodb://127.0.0.1:27017".into());
    let (scheme, rest) = url.split_once("://").unwrap();
    let hosts = rest.split(['/', '?']).next().unwrap();
    MongoStore::connect(&format!("{scheme}://{hosts}/{db}"))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_salt_stored_while_the_worker_creates_its_indexes_leaves_the_store_answering() {
    let today = Day::of(time::OffsetDateTime::now_utc());
    // Each round starts the salt 0.1 ms later, so some land on the moment the worker creates the
    // salts' collection (before the fix the store stopped answering around round 100).
    for round in 0..250u8 {
        let db = format!(
            "beacon_setup_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let (worker, ingestion) = (client_of(&db).await, client_of(&db).await);
        let both = async {
            tokio::join!(worker.ensure_indexes(), async {
                tokio::time::sleep(Duration::from_micros(u64::from(round) * 100)).await;
                ingestion.daily_salt(today, [round; 32]).await
            })
        };
        let (indexes, salt) = tokio::time::timeout(Duration::from_secs(20), both)
            .await
            .unwrap_or_else(|_| panic!("round {round}: the store stopped answering"));
        indexes.unwrap();
        assert_eq!(salt.unwrap(), [round; 32]);
        // The salt is stored once, and the salts' TTL index exists whoever created it.
        let salts = worker.database().collection::<Document>("salts");
        assert_eq!(salts.count_documents(doc! {}).await.unwrap(), 1);
        let names = salts.list_index_names().await.unwrap();
        assert!(
            names.iter().any(|n| n.starts_with("expire_at")),
            "{names:?}"
        );
        worker.database().drop().await.unwrap();
    }
}
