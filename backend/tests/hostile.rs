//! Hostile input over the wire: thousands of generated malicious or broken requests against
//! `POST /event`, operator injection against every report parameter, and slow clients.
//!
//! What must hold: every refused request is a 4xx with a JSON `{"error": ...}` body, nothing is
//! ever a 5xx, the services keep running, and a normal event is accepted and counted afterwards.
//! Requests the rules do allow (format characters in a path, junk under unknown keys, one good
//! event in a bad batch) are sent too and must be accepted and stored, no more and no less.
//!
//! The generator is seeded (`HOSTILE_SEED`, default 0x5eed) and the corpus size can be changed
//! with `HOSTILE_REQUESTS` (default 10 000); the per-category table is printed on stderr
//! (`cargo test --test hostile -- --nocapture`).

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{TestSystem, CHROME};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Requests in flight at once.
const CONCURRENCY: usize = 16;
/// The site every accepted hostile event is filed under.
const ACCEPTED_SITE: &str = "hostile-accepted";
const MIB: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A 4xx with a JSON `{"error": ...}` body.
    Refused,
    /// A 202: the rules allow it, however odd it looks.
    Accepted,
    /// A 4xx, any body: requests that never reach `/event` (wrong URL or method).
    Unrouted,
}

struct Hostile {
    category: &'static str,
    expect: Expect,
    method: reqwest::Method,
    path: String,
    content_type: Option<String>,
    body: HostileBody,
}

enum HostileBody {
    Bytes(Vec<u8>),
    /// `len` bytes sent chunked (no Content-Length), produced lazily.
    Stream(usize),
}

impl Hostile {
    fn json(category: &'static str, expect: Expect, body: impl Into<Vec<u8>>) -> Self {
        Self {
            category,
            expect,
            method: reqwest::Method::POST,
            path: "/event".into(),
            content_type: Some("application/json".into()),
            body: HostileBody::Bytes(body.into()),
        }
    }
}

fn event(site: &str, path: &str) -> Value {
    json!({"site_id": site, "event_type": "page_view", "path": path})
}

fn valid(rng: &mut StdRng) -> Value {
    event("hostile", &format!("/p/{}", rng.random_range(0..1000)))
}

const FIELDS: [&str; 9] = [
    "site_id",
    "event_type",
    "path",
    "user_id",
    "timestamp",
    "eid",
    "referrer",
    "screen_width",
    "props",
];

/// Valid JSON text cut short, random bytes, broken escapes and literals.
fn malformed(rng: &mut StdRng) -> Hostile {
    let body: Vec<u8> = match rng.random_range(0..6) {
        0 | 1 => {
            let mut text = if rng.random_bool(0.5) {
                valid(rng).to_string()
            } else {
                Value::Array(vec![valid(rng); rng.random_range(1..5)]).to_string()
            }
            .into_bytes();
            text.truncate(rng.random_range(0..text.len()));
            text
        }
        2 => (0..rng.random_range(1..200))
            .map(|_| rng.random())
            .collect(),
        3 => {
            let junk = [
                r#"{"site_id":"s","event_type":"x","path":"/\x"}"#,
                r#"{"site_id":"s","event_type":"x","path":"/\u12"}"#,
                r#"{"site_id":"s","event_type":"x","path":"/",}"#,
                r#"{site_id:"s",event_type:"x",path:"/"}"#,
                r#"{'site_id':'s','event_type':'x','path':'/'}"#,
                r#"{"site_id":"s" "event_type":"x"}"#,
                r#"{"site_id":NaN}"#,
                r#"{"site_id":Infinity}"#,
                r#"{"screen_width":1e400}"#,
                r#"{"screen_width":-}"#,
                r#"{"screen_width":01}"#,
                r#"{"a":tru}"#,
                r#"{"site_id":"s"}}"#,
                r#"{"site_id":"s"} {"site_id":"t"}"#,
                r#"[{"site_id":"s"},]"#,
                "/* comment */ {}",
                "{\"site_id\":\"s\"}\u{0}",
                "\u{feff}{\"site_id\":\"s\",\"event_type\":\"x\",\"path\":\"/\"}",
            ];
            junk.choose(rng).expect("non-empty").as_bytes().to_vec()
        }
        4 => {
            // One random byte of a valid event replaced by a JSON-structural or control byte.
            let mut text = valid(rng).to_string().into_bytes();
            let at = rng.random_range(0..text.len());
            text[at] = *[b'{', b'}', b'[', b'"', b',', b':', b'\\', 0, b'\n']
                .choose(rng)
                .expect("non-empty");
            // Still valid JSON by chance (e.g. a `:` inside the path)? Cut the end off too.
            text.pop();
            text
        }
        _ => {
            let text = valid(rng).to_string();
            let cut = rng.random_range(1..text.len());
            format!("{}{}", &text[..cut], "\"".repeat(rng.random_range(1..4))).into_bytes()
        }
    };
    Hostile::json("malformed JSON", Expect::Refused, body)
}

/// A known field set to a JSON type it does not take (or a required one missing or null).
fn wrong_type(rng: &mut StdRng) -> Hostile {
    let field = *FIELDS.choose(rng).expect("non-empty");
    let mut e = valid(rng);
    let required = matches!(field, "site_id" | "event_type" | "path");
    let wrong: Vec<Value> = match field {
        "screen_width" => vec![
            json!("1440"),
            json!(true),
            json!([1440]),
            json!({"$gt": 0}),
            json!(-1),
            json!(1.5),
            json!(1e300),
            json!(u64::MAX),
            json!(100_001),
        ],
        "props" => vec![
            json!("plan=pro"),
            json!([["plan", "pro"]]),
            json!(42),
            json!(true),
            json!({"plan": {"$ne": null}}),
            json!({"plan": ["pro"]}),
            json!({"plan": null}),
        ],
        _ => vec![
            json!(1),
            json!(-0.5),
            json!(true),
            json!(false),
            json!([]),
            json!(["/"]),
            json!({}),
            json!({"$ne": null}),
            json!({"$gt": ""}),
            json!({"$where": "sleep(1000)"}),
            json!({"$regex": ".*"}),
        ],
    };
    let mut value = wrong.choose(rng).expect("non-empty").clone();
    if required && rng.random_bool(0.15) {
        value = Value::Null;
    }
    if required && rng.random_bool(0.1) {
        e.as_object_mut().expect("object").remove(field);
    } else {
        e[field] = value;
    }
    Hostile::json("wrong types", Expect::Refused, e.to_string())
}

/// A field over its length limit, by a little or by a lot (up to ~900 KB, under the body limit).
fn huge_string(rng: &mut StdRng) -> Hostile {
    let mut e = valid(rng);
    let over = |rng: &mut StdRng, limit: usize| {
        if rng.random_bool(0.05) {
            rng.random_range(limit + 1..900_000)
        } else {
            rng.random_range(limit + 1..limit + 64)
        }
    };
    match rng.random_range(0..7) {
        0 => e["site_id"] = json!("s".repeat(over(rng, 128))),
        1 => e["event_type"] = json!("é".repeat(over(rng, 64).min(400_000))),
        2 => e["path"] = json!(format!("/{}", "a".repeat(over(rng, 2047)))),
        3 => e["user_id"] = json!("😀".repeat(over(rng, 256).min(200_000))),
        4 => e["referrer"] = json!(format!("https://{}", "r".repeat(over(rng, 2040)))),
        5 => e["props"] = json!({"k": "v".repeat(over(rng, 512))}),
        _ => {
            let keys = if rng.random_bool(0.5) {
                rng.random_range(31..40)
            } else {
                rng.random_range(31..20_000)
            };
            let props: serde_json::Map<String, Value> =
                (0..keys).map(|i| (format!("k{i}"), json!(i))).collect();
            e["props"] = Value::Object(props);
        }
    }
    Hostile::json("huge strings", Expect::Refused, e.to_string())
}

/// Nesting past serde_json's recursion limit, or nesting where only flat values are allowed.
fn deep(rng: &mut StdRng) -> Hostile {
    let depth = rng.random_range(129..100_000);
    let body = match rng.random_range(0..4) {
        0 => "[".repeat(depth),
        1 => format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
        2 => format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)),
        _ => {
            let inner = rng.random_range(1..120);
            format!(
                r#"{{"site_id":"s","event_type":"x","path":"/","props":{{"k":{}1{}}}}}"#,
                "[".repeat(inner),
                "]".repeat(inner)
            )
        }
    };
    Hostile::json("deep nesting", Expect::Refused, body)
}

/// Invalid UTF-8 inside and outside strings: overlong forms, lone surrogates (raw and
/// escaped), stray continuation bytes, 5-byte forms.
fn invalid_utf8(rng: &mut StdRng) -> Hostile {
    let bad: &[&[u8]] = &[
        b"\xc0\xaf",
        b"\xe0\x80\xaf",
        b"\xf0\x80\x80\xaf",
        b"\xc0\x80",
        b"\xed\xa0\x80",
        b"\xed\xbf\xbf",
        b"\x80",
        b"\xbf",
        b"\xff",
        b"\xfe",
        b"\xf8\x88\x80\x80\x80",
        b"\xf4\x90\x80\x80",
        b"\xe2\x80",
    ];
    let text = valid(rng).to_string();
    let body = if rng.random_bool(0.2) {
        let escape = ["\\ud800", "\\udfff", "\\udbff\\u0041", "\\ud800\\ud800"]
            .choose(rng)
            .expect("non-empty");
        format!(r#"{{"site_id":"s","event_type":"x","path":"/{escape}"}}"#).into_bytes()
    } else {
        let mut bytes = text.into_bytes();
        let at = rng.random_range(0..=bytes.len());
        let insert = bad.choose(rng).expect("non-empty");
        bytes.splice(at..at, insert.iter().copied());
        bytes
    };
    Hostile::json("invalid UTF-8", Expect::Refused, body)
}

/// Unicode tricks in the event's `path`: the ones the rules refuse (controls, not starting
/// with `/`, invalid UTF-8) and the ones they allow (format characters, percent escapes).
fn unicode_path(rng: &mut StdRng) -> Hostile {
    let refused = [
        "/\u{0}",
        "/admin\u{0}.html",
        "/\u{85}",
        "/\u{9b}31m",
        "/\u{1b}[31mred",
        "/a\nb",
        "/a\rSet-Cookie: x",
        "/\u{7f}",
        "\u{202e}/gnp.exe",
        "\u{200b}/",
        "\u{feff}/",
        "%2Fadmin",
        "\u{ff0f}admin",
        "\u{2215}admin",
        "\\admin",
        " /admin",
        "",
    ];
    let allowed = [
        "/\u{202e}gnp.exe",
        "/a\u{200b}b",
        "/\u{200d}\u{2066}x\u{2069}",
        "/\u{feff}",
        "/%00",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/..%c0%af..%c0%af",
        "/%E2%80%AE",
        "/\u{ad}soft",
        "/ｆｕｌｌ",
        "/😀/中文/é",
        "/\u{fffd}",
    ];
    if rng.random_bool(0.8) {
        let path = refused.choose(rng).expect("non-empty");
        let body = if rng.random_bool(0.15) {
            // Raw control bytes in a JSON string are a JSON error, not a path error.
            format!(
                r#"{{"site_id":"s","event_type":"x","path":"/a{}b"}}"#,
                '\u{1}'
            )
        } else {
            event("s", path).to_string()
        };
        Hostile::json("unicode paths (refused)", Expect::Refused, body)
    } else {
        let path = allowed.choose(rng).expect("non-empty");
        Hostile::json(
            "unicode paths (allowed)",
            Expect::Accepted,
            event(ACCEPTED_SITE, path).to_string(),
        )
    }
}

fn content_type(rng: &mut StdRng) -> Hostile {
    let types = [
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/html",
        "text/xml",
        "application/xml",
        "application/jsonp",
        "application/json-patch+json",
        "application/json, text/plain",
        "application/javascript",
        "image/png",
        "text/plain2",
        "*/*",
        "application/*",
        "json",
        "application/octet-stream",
        "application/x-ndjson",
    ];
    let mut h = Hostile::json("content types", Expect::Refused, valid(rng).to_string());
    h.content_type = Some(types.choose(rng).expect("non-empty").to_string());
    h
}

/// The same key twice; serde_json keeps the last, which is always the bad one here.
fn duplicate_keys(rng: &mut StdRng) -> Hostile {
    let bodies = [
        r#"{"site_id":"s","event_type":"x","path":"/","site_id":{"$ne":null}}"#,
        r#"{"site_id":"s","event_type":"x","path":"/","path":"admin"}"#,
        r#"{"site_id":"s","event_type":"x","path":"/","event_type":""}"#,
        r#"{"site_id":"s","event_type":"x","path":"/","screen_width":1,"screen_width":-1}"#,
        r#"{"site_id":"s","event_type":"x","path":"/","props":{},"props":[]}"#,
        r#"{"site_id":"s","event_type":"x","path":"/","props":{"a":1,"a":{"b":1}}}"#,
        r#"{"site_id":"s","event_type":"x","path":"/","site_id":"a b"}"#,
        r#"{"site_id":"s","site_id":null,"event_type":"x","path":"/"}"#,
    ];
    let body = bodies.choose(rng).expect("non-empty").to_string();
    Hostile::json("duplicate keys", Expect::Refused, body)
}

/// Arrays of many tiny events: over the 500-event limit (up to 100 000 in one batch, or
/// several MB of events), or every event invalid.
fn batch_bomb(rng: &mut StdRng) -> Hostile {
    let n = *[501, 1_000, 10_000, 100_000, 300_000]
        .choose(rng)
        .expect("non-empty");
    let body = match rng.random_range(0..5) {
        0 => format!("[{}{{}}]", "{},".repeat(n - 1)),
        1 => format!("[{}0]", "0,".repeat(n - 1)),
        2 => format!("[{}[]]", "[],".repeat(n - 1)),
        3 => {
            // 100 000 tiny but valid events: ~4 MB, refused by size before anything else.
            let one = event("s", "/").to_string();
            format!("[{}]", vec![one; 100_000].join(","))
        }
        _ => {
            let bad = json!({"site_id": "s", "event_type": "x"}).to_string();
            format!("[{}]", vec![bad; rng.random_range(1..=500)].join(","))
        }
    };
    Hostile::json("batch bombs", Expect::Refused, body)
}

/// Bodies over 1 MiB, with a Content-Length or chunked, up to 10 MB.
fn big_body(rng: &mut StdRng) -> Hostile {
    let mut h = match rng.random_range(0..3) {
        0 => {
            let mut padded = valid(rng).to_string().into_bytes();
            padded.resize(MIB + 1, b' ');
            Hostile::json("big bodies", Expect::Refused, padded)
        }
        1 => Hostile::json("big bodies", Expect::Refused, vec![b'['; 10 * MIB]),
        _ => {
            let mut h = Hostile::json("big bodies", Expect::Refused, Vec::new());
            h.body = HostileBody::Stream(10 * MIB);
            h
        }
    };
    if rng.random_bool(0.3) {
        h.content_type = Some("text/plain".into());
    }
    h
}

/// Things that are JSON but not an event or a batch, and empty ones.
fn not_an_event(rng: &mut StdRng) -> Hostile {
    let bodies = [
        "",
        " ",
        "\n",
        "null",
        "true",
        "0",
        "-1",
        "1e999",
        "\"event\"",
        "[]",
        "[[]]",
        "[null]",
        "{}",
        "[{}]",
        "[1,2,3]",
    ];
    let body = *bodies.choose(rng).expect("non-empty");
    Hostile::json("not an event", Expect::Refused, body)
}

/// Valid events wrapped in junk the rules ignore or allow: unknown keys that look like Mongo
/// operators, deep nesting under an unknown key, exactly 1 MiB, one good event in a bad batch.
fn allowed_oddity(rng: &mut StdRng) -> Hostile {
    let mut e = event(ACCEPTED_SITE, "/odd");
    let body = match rng.random_range(0..5) {
        0 => {
            e["$where"] = json!("sleep(1000)");
            e["__proto__"] = json!({"admin": true});
            e["site_id.$ne"] = json!(1);
            e.to_string()
        }
        1 => {
            let depth = rng.random_range(1..120);
            let mut text = e.to_string();
            text.pop();
            format!("{text},\"x\":{}1{}}}", "[".repeat(depth), "]".repeat(depth))
        }
        2 => {
            let mut text = e.to_string().into_bytes();
            text.resize(MIB, b' ');
            return Hostile::json("allowed oddities", Expect::Accepted, text);
        }
        3 => {
            let bad = json!({"site_id": "s", "event_type": "x"});
            let mut batch = vec![bad; 499];
            batch.insert(rng.random_range(0..500), e);
            Value::Array(batch).to_string()
        }
        _ => {
            e["props"] = json!({"$gt": "", "$where": "1", "k": "é".repeat(256)});
            e["user_id"] = json!("{\"$ne\":null}");
            e.to_string()
        }
    };
    Hostile::json("allowed oddities", Expect::Accepted, body)
}

/// Odd URLs and methods: none of them reaches the `/event` handler with a good event.
fn odd_url(rng: &mut StdRng) -> Hostile {
    let paths = [
        "/event%00",
        "/event%2F",
        "/%E2%80%AEtneve",
        "/event/",
        "//event",
        "/EVENT",
        "/event;jsessionid=1",
        "/ev%65nt",
        "/event%20",
        "/event/%2e%2e/event",
        "/%C0%AFevent",
        "/event?site_id[$ne]=1",
    ];
    let mut h = Hostile::json("odd URLs and methods", Expect::Unrouted, "{}");
    if rng.random_bool(0.25) {
        h.method = [
            reqwest::Method::GET,
            reqwest::Method::PUT,
            reqwest::Method::DELETE,
        ]
        .choose(rng)
        .expect("non-empty")
        .clone();
    } else {
        h.path = paths.choose(rng).expect("non-empty").to_string();
    }
    h
}

/// The corpus: `total` requests in fixed proportions, shuffled. Oversized ones are rarer.
fn corpus(seed: u64, total: usize) -> Vec<Hostile> {
    type Make = fn(&mut StdRng) -> Hostile;
    let mix: [(Make, usize); 13] = [
        (malformed, 2200),
        (wrong_type, 2000),
        (huge_string, 1200),
        (deep, 400),
        (invalid_utf8, 1000),
        (unicode_path, 1100),
        (content_type, 600),
        (duplicate_keys, 500),
        (batch_bomb, 100),
        (big_body, 20),
        (not_an_event, 400),
        (allowed_oddity, 180),
        (odd_url, 300),
    ];
    let weight: usize = mix.iter().map(|(_, n)| n).sum();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut all = Vec::with_capacity(total);
    for (make, n) in mix {
        for _ in 0..(n * total).div_ceil(weight) {
            all.push(make(&mut rng));
        }
    }
    use rand::seq::SliceRandom;
    all.shuffle(&mut rng);
    all
}

#[derive(Default)]
struct Tally {
    statuses: BTreeMap<u16, usize>,
    sent: usize,
    accepted_events: u64,
    unrouted_json: usize,
}

struct Outcome {
    category: &'static str,
    status: Option<StatusCode>,
    problem: Option<String>,
    accepted_events: u64,
    json_body: bool,
}

async fn send(http: &reqwest::Client, base: &str, mut h: Hostile) -> Outcome {
    let mut request = http
        .request(h.method.clone(), format!("{base}{}", h.path))
        .header("user-agent", CHROME);
    if let Some(ct) = &h.content_type {
        request = request.header("content-type", ct.as_str());
    }
    let shown;
    let body = std::mem::replace(&mut h.body, HostileBody::Bytes(Vec::new()));
    request = match body {
        HostileBody::Bytes(bytes) if bytes.len() > MIB => {
            // The server answers 413 and closes once it has read 1 MiB: a client still
            // writing sees a broken pipe, not the answer. Read it over a raw connection.
            return send_raw(&h, base, RawBody::Sized(bytes)).await;
        }
        HostileBody::Bytes(bytes) => {
            shown = String::from_utf8_lossy(&bytes[..bytes.len().min(80)]).into_owned();
            request.body(bytes)
        }
        HostileBody::Stream(len) => return send_raw(&h, base, RawBody::Chunked(len)).await,
    };
    let (category, expect) = (h.category, h.expect);
    let fail = |status, problem: String| Outcome {
        category,
        status,
        problem: Some(format!("{category}: {problem} ← {shown:?}")),
        accepted_events: 0,
        json_body: false,
    };
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => return fail(None, format!("no answer: {e:?}")),
    };
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let body: Option<Value> = serde_json::from_str(&text).ok();
    let has_error = body.as_ref().is_some_and(|b| b["error"].is_string());
    let accepted_events = body
        .as_ref()
        .and_then(|b| b["accepted"].as_u64())
        .unwrap_or(0);
    let ok = match expect {
        Expect::Refused => status.is_client_error() && has_error,
        Expect::Accepted => status == StatusCode::ACCEPTED && accepted_events == 1,
        Expect::Unrouted => status.is_client_error(),
    };
    Outcome {
        category,
        status: Some(status),
        problem: (!ok).then(|| format!("{category}: {status} {text:.200} ← {shown:?}")),
        accepted_events: if status == StatusCode::ACCEPTED {
            accepted_events
        } else {
            0
        },
        json_body: has_error,
    }
}

enum RawBody {
    /// With a Content-Length.
    Sized(Vec<u8>),
    /// `n` bytes of whitespace, `Transfer-Encoding: chunked`, 64 KiB a chunk.
    Chunked(usize),
}

/// Sends an oversized body over a raw connection, writing and reading at the same time, so
/// the answer is seen even when the server stops reading early. It must be a JSON 4xx.
async fn send_raw(h: &Hostile, base: &str, body: RawBody) -> Outcome {
    let addr = base.trim_start_matches("http://");
    let ct = h
        .content_type
        .as_deref()
        .map_or(String::new(), |ct| format!("Content-Type: {ct}\r\n"));
    let (framing, shown) = match &body {
        RawBody::Sized(b) => (
            format!("Content-Length: {}", b.len()),
            format!("<{} bytes>", b.len()),
        ),
        RawBody::Chunked(n) => (
            "Transfer-Encoding: chunked".into(),
            format!("<{n} bytes, chunked>"),
        ),
    };
    let mut out = format!(
        "POST {} HTTP/1.1\r\nHost: {addr}\r\n{ct}{framing}\r\nConnection: close\r\n\r\n",
        h.path
    )
    .into_bytes();
    match body {
        RawBody::Sized(b) => out.extend_from_slice(&b),
        RawBody::Chunked(n) => {
            let chunk = [b' '; 64 * 1024];
            for _ in 0..n / chunk.len() {
                out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                out.extend_from_slice(&chunk);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
        }
    }
    let mut reply = Vec::new();
    if let Ok(mut stream) = TcpStream::connect(addr).await {
        let (mut reader, mut writer) = stream.split();
        let write = async {
            let _ = writer.write_all(&out).await;
        };
        let read = tokio::time::timeout(Duration::from_secs(20), reader.read_to_end(&mut reply));
        let _ = tokio::join!(write, read);
    }
    let text = String::from_utf8_lossy(&reply).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse::<u16>().ok())
        .and_then(|code| StatusCode::from_u16(code).ok());
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let json_body = serde_json::from_str::<Value>(body).is_ok_and(|b| b["error"].is_string());
    let ok = status.is_some_and(|s| s.is_client_error()) && json_body;
    Outcome {
        category: h.category,
        status,
        problem: (!ok).then(|| format!("{}: {status:?} {text:.300} ← {shown}", h.category)),
        accepted_events: 0,
        json_body,
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_hostile_requests_are_4xx_and_never_5xx() {
    let system = TestSystem::start().await;
    assert!(system.wait_ready(&system.ingest_url).await);
    let seed = env_number("HOSTILE_SEED", 0x5eed);
    let total = env_number("HOSTILE_REQUESTS", 10_000) as usize;
    let requests = corpus(seed, total);
    let sent = requests.len();
    assert!(sent >= total, "{sent} requests generated");

    let started = Instant::now();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let base = system.ingest_url.clone();
    let outcomes: Vec<Outcome> = futures::stream::iter(requests)
        .map(|h| send(&http, &base, h))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let elapsed = started.elapsed();

    let mut tally: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut server_errors = 0;
    for o in &outcomes {
        let t = tally.entry(o.category).or_default();
        t.sent += 1;
        t.accepted_events += o.accepted_events;
        if let Some(status) = o.status {
            *t.statuses.entry(status.as_u16()).or_default() += 1;
            if status.is_server_error() {
                server_errors += 1;
            }
        }
        if o.category == "odd URLs and methods" && o.json_body {
            t.unrouted_json += 1;
        }
        if let Some(p) = &o.problem {
            problems.push(p.clone());
        }
    }
    eprintln!(
        "hostile: {sent} requests (seed {seed:#x}, {CONCURRENCY} concurrent) in {:.1} s, \
         {server_errors} 5xx, {} unexpected",
        elapsed.as_secs_f64(),
        problems.len()
    );
    eprintln!("| category | sent | statuses |");
    eprintln!("| --- | ---: | --- |");
    for (category, t) in &tally {
        let statuses: Vec<String> = t
            .statuses
            .iter()
            .map(|(s, n)| format!("{s} ×{n}"))
            .collect();
        eprintln!("| {category} | {} | {} |", t.sent, statuses.join(", "));
    }
    if let Some(t) = tally.get("odd URLs and methods") {
        eprintln!(
            "odd URLs and methods: {} of {} answered with a JSON error body",
            t.unrouted_json, t.sent
        );
    }
    for p in problems.iter().take(20) {
        eprintln!("  unexpected: {p}");
    }
    assert_eq!(server_errors, 0, "5xx answers");
    assert!(problems.is_empty(), "{} unexpected answers", problems.len());

    // Still up, still accepting, still counting right: exactly the accepted hostile events
    // plus one normal event are stored, and the normal one shows in its site's report.
    let (status, body) = system.post(&event("after-hostile", "/home")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let accepted: u64 = tally.values().map(|t| t.accepted_events).sum();
    system.wait_stored(accepted + 1).await;
    let (status, stats) = system.stats("site_id=after-hostile").await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["total_views"], 1, "{stats}");
    assert_eq!(stats["top_paths"], json!([{"path": "/home", "views": 1}]));
    let (_, odd) = system.stats(&format!("site_id={ACCEPTED_SITE}")).await;
    assert_eq!(odd["total_views"].as_u64(), Some(accepted), "{odd}");
    system.shutdown().await;
}

/// Every parameter of every report endpoint, with operator injection, regex metacharacters,
/// odd dates and unknown names: a 400 naming the parameter; and a valid site id that looks
/// like a regex matches only itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_parameters_refuse_injection_and_regex_site_ids_match_only_themselves() {
    let system = TestSystem::start().await;
    for i in 0..3 {
        let (status, body) = system.post(&event("aXb", &format!("/x{i}"))).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    let (status, body) = system.post(&event("a.b.c", "/other")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    system.wait_stored(4).await;

    let endpoints: [(&str, &str); 4] = [
        ("/stats", "site_id=aXb"),
        ("/stats/timeseries", "site_id=aXb"),
        ("/stats/breakdown", "site_id=aXb&property=path"),
        ("/stats/realtime", "site_id=aXb"),
    ];
    // (parameter, hostile query part, the field the 400 names or None for "unknown parameter"
    // errors, which name the parameter in their message instead).
    let site_cases: Vec<(&str, Option<&str>)> = vec![
        ("site_id[$gt]=", None),
        ("site_id[$ne]=x", None),
        ("site_id[$regex]=.*", None),
        ("site_id%5B%24gt%5D=", None),
        ("site_id.$ne=x", None),
        ("$where=sleep(1000)", None),
        ("__proto__[admin]=1", None),
        ("colour=red", None),
        (
            "site_id=%7B%22%24where%22%3A%22sleep(1000)%22%7D",
            Some("site_id"),
        ),
        ("site_id=%7B%22%24ne%22%3Anull%7D", Some("site_id")),
        ("site_id=.*", Some("site_id")),
        ("site_id=^aXb$", Some("site_id")),
        ("site_id=aXb|a.b", Some("site_id")),
        ("site_id=a%00b", Some("site_id")),
        ("site_id=a%E2%80%AEb", Some("site_id")),
        ("site_id=%FF", Some("site_id")),
        ("site_id=", Some("site_id")),
        ("site_id=aXb&site_id=a.b", Some("site_id")),
    ];
    let date_cases: Vec<(&str, Option<&str>)> = vec![
        ("date=0000-01-01", Some("date")),
        ("date=99999-01-01", Some("date")),
        ("date=2026-02-30", Some("date")),
        ("date=1969-12-31", Some("date")),
        ("date=-2026-01-01", Some("date")),
        ("date=2026-1-1", Some("date")),
        ("date=%7B%22%24gt%22%3A%22%22%7D", Some("date")),
        ("date=.*", Some("date")),
        ("date[$gt]=2020-01-01", None),
        ("from=0000-01-01&to=2026-01-01", Some("from")),
        ("from=2026-01-01&to=99999-01-01", Some("to")),
        ("from=1970-01-01&to=9999-12-31", Some("to")),
        ("from=2026-03-01&to=2026-02-01", Some("to")),
        ("from=2026-01-01", Some("to")),
        ("to=2026-01-01", Some("from")),
        ("from[$lt]=2026-01-01&to=2026-01-02", None),
        (
            "date=2026-01-01&from=2026-01-01&to=2026-01-02",
            Some("date"),
        ),
    ];
    let filter_cases: Vec<(&str, Option<&str>)> = vec![
        ("filters=%7B%22source%22%3A%7B%22%24ne%22%3Anull%7D%7D", Some("filters")),
        ("filters=$where==1", Some("filters")),
        ("filters=source", Some("filters")),
        ("filters=source.$ne==x", Some("filters")),
        ("filters=colour==red", Some("filters")),
        ("filters=path==%00", Some("filters")),
        (
            "filters=path==a;path==b;path==c;path==d;path==e;path==f;path==g;path==h;path==i;path==j;path==k",
            Some("filters"),
        ),
        ("filters[$ne]=x", None),
    ];
    let mut checked = 0;
    for (endpoint, base) in endpoints {
        let mut cases: Vec<(String, Option<&str>)> = Vec::new();
        let mine = |q: &str| q.split('&').all(|p| !p.starts_with("site_id"));
        for (q, field) in &site_cases {
            // Replace the endpoint's own site_id so only the hostile one is given.
            let rest = base.split_once('&').map_or("", |(_, r)| r);
            let query = if rest.is_empty() {
                q.to_string()
            } else {
                format!("{q}&{rest}")
            };
            cases.push((query, *field));
        }
        let accepts = |name: &str| match endpoint {
            "/stats/realtime" => name == "site_id",
            "/stats/timeseries" => name != "metrics",
            _ => true,
        };
        for (q, field) in date_cases.iter().chain(&filter_cases) {
            assert!(mine(q));
            let name = q.split(['=', '[']).next().unwrap_or("");
            // An endpoint that does not take the parameter refuses it as unknown.
            let field = if accepts(name) { *field } else { None };
            cases.push((format!("{base}&{q}"), field));
        }
        let own: &[(&str, &str)] = match endpoint {
            "/stats" => &[
                ("metrics=$where", "metrics"),
                ("metrics=visits,%7B%22%24gt%22%3A1%7D", "metrics"),
            ],
            "/stats/timeseries" => &[
                ("interval=%7B%22%24gt%22%3A%22%22%7D", "interval"),
                ("interval=.*", "interval"),
                ("from=2026-01-01&to=2026-03-01&interval=hour", "interval"),
            ],
            "/stats/breakdown" => &[
                ("limit=-1", "limit"),
                ("limit=0", "limit"),
                ("limit=1e9", "limit"),
                ("limit=99999999999999999999", "limit"),
                ("page=0", "page"),
                ("page=%7B%22%24gt%22%3A0%7D", "page"),
                ("format=$where", "format"),
                ("format=csv%00", "format"),
            ],
            _ => &[],
        };
        for (q, field) in own {
            cases.push((format!("{base}&{q}"), Some(field)));
        }
        if endpoint == "/stats/breakdown" {
            for p in ["$where", "path.*", "%7B%22%24ne%22%3A1%7D", "path%00", ""] {
                cases.push((format!("site_id=aXb&property={p}"), Some("property")));
            }
            cases.push(("site_id=aXb&property[$ne]=path".into(), None));
        }
        for (query, field) in cases {
            let (status, body) = system.report(&format!("{endpoint}?{query}")).await;
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "{endpoint}?{query} → {body}"
            );
            let message = body["error"].as_str().unwrap_or_default();
            assert!(!message.is_empty(), "{endpoint}?{query} → {body}");
            match field {
                Some(f) => assert_eq!(body["field"], f, "{endpoint}?{query} → {body}"),
                None => {
                    // An unknown name is refused by that name (printable part of it).
                    let name = query.split('=').next().unwrap_or_default();
                    let shown = name.replace("%5B%24gt%5D", "[$gt]");
                    assert!(
                        message.contains(&shown) && body["field"].is_null(),
                        "{endpoint}?{query} → {body}"
                    );
                }
            }
            checked += 1;
        }
    }
    eprintln!("report injection: {checked} hostile queries, all 400");

    // `a.b` is a valid site id; as a regex it would match `aXb`. It must not.
    for (endpoint, extra) in [
        ("/stats", ""),
        ("/stats", "&filters=path!=/none"),
        ("/stats/timeseries", ""),
        ("/stats/breakdown", "&property=path"),
        ("/stats/breakdown", "&property=path&filters=path!=/none"),
        ("/stats/realtime", ""),
    ] {
        for site in ["a.b", "a.b.", "a.b.c", "aXb"] {
            let (status, body) = system
                .report(&format!("{endpoint}?site_id={site}{extra}"))
                .await;
            assert_eq!(status, StatusCode::OK, "{endpoint} {site} → {body}");
            let views = match endpoint {
                "/stats" => body["total_views"].as_u64(),
                "/stats/timeseries" => body["points"].as_array().map(|p| {
                    p.iter()
                        .map(|pt| pt["views"].as_u64().unwrap_or(0))
                        .sum::<u64>()
                }),
                "/stats/breakdown" => body["results"].as_array().map(|r| r.len() as u64),
                _ => body["visitors"].as_u64(),
            };
            let expected = match (endpoint, site) {
                (_, "a.b" | "a.b.") => 0,
                ("/stats/realtime", _) => 1,
                (_, "aXb") => 3,
                _ => 1,
            };
            assert_eq!(
                views,
                Some(expected),
                "{endpoint}?site_id={site}{extra} → {body}"
            );
        }
    }
    system.shutdown().await;
}

/// Opens a connection and sends a request head announcing `length` body bytes; then the
/// body one byte every `every`, until the server answers or closes or `observe` passes.
/// Returns when (if at all) the server cut the connection, and what it answered.
async fn slow_body(addr: &str, length: usize, every: Duration, observe: Duration) -> SlowResult {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    let head = format!(
        "POST /event HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head sent");
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    let mut sent = 0;
    while started.elapsed() < observe {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => return SlowResult { cut_after: Some(started.elapsed()), reply },
                Ok(n) => reply.extend_from_slice(&buf[..n]),
            },
            _ = tokio::time::sleep(every) => {
                if sent < length {
                    if stream.write_all(b" ").await.is_err() {
                        return SlowResult { cut_after: Some(started.elapsed()), reply };
                    }
                    sent += 1;
                }
            }
        }
    }
    SlowResult {
        cut_after: None,
        reply,
    }
}

struct SlowResult {
    cut_after: Option<Duration>,
    reply: Vec<u8>,
}

/// Slow-loris: many connections trickling a body one byte a second. The server must keep
/// answering everyone else promptly while they hang on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_do_not_stall_other_clients() {
    let system = TestSystem::start_with(&[], false).await;
    assert!(system.wait_ready(&system.ingest_url).await);
    let addr = system.ingest_url.trim_start_matches("http://").to_owned();
    let observe = Duration::from_secs(env_number("HOSTILE_SLOW_SECONDS", 8));
    let slow: Vec<_> = (0..200)
        .map(|_| {
            let addr = addr.clone();
            tokio::spawn(async move {
                slow_body(&addr, 100_000, Duration::from_millis(500), observe).await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut worst = Duration::ZERO;
    for i in 0..20 {
        let started = Instant::now();
        let (status, body) = system.post(&event("slow-test", &format!("/{i}"))).await;
        worst = worst.max(started.elapsed());
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        worst < Duration::from_secs(2),
        "a normal request took {worst:?} next to slow clients"
    );
    let mut cut = Vec::new();
    for handle in slow {
        let r = handle.await.expect("slow client task");
        if let Some(after) = r.cut_after {
            cut.push((after, String::from_utf8_lossy(&r.reply).into_owned()));
        }
    }
    eprintln!(
        "slow bodies: 200 connections at 1 byte / 500 ms for {observe:?}: {} cut off by the \
         server; normal requests meanwhile: worst {worst:?}",
        cut.len()
    );
    for (after, reply) in cut.iter().take(3) {
        eprintln!("  cut after {after:?}: {:.120}", reply);
    }
    system.shutdown().await;
}

/// A body that trickles in forever must be cut off by a timeout, so a slow-loris client
/// cannot hold a connection (and a task, and graceful shutdown) indefinitely.
///
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_body_is_cut_off() {
    let system = TestSystem::start_with(&[], false).await;
    assert!(system.wait_ready(&system.ingest_url).await);
    let addr = system.ingest_url.trim_start_matches("http://").to_owned();
    let trickle = tokio::spawn(async move {
        slow_body(
            &addr,
            100_000,
            Duration::from_millis(500),
            Duration::from_secs(45),
        )
        .await
    });
    let r = trickle.await.expect("slow client task");
    let cut = r
        .cut_after
        .expect("the server never cut the slow body off (45 s)");
    let reply = String::from_utf8_lossy(&r.reply);
    assert!(
        reply.is_empty() || reply.starts_with("HTTP/1.1 4"),
        "cut after {cut:?} with {reply:?}"
    );
    system.shutdown().await;
}

/// A slow client open during shutdown must not keep ingestion from stopping (SIGTERM).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_does_not_block_shutdown() {
    let mut system = TestSystem::start_with(&[], false).await;
    assert!(system.wait_ready(&system.ingest_url).await);
    let addr = system.ingest_url.trim_start_matches("http://").to_owned();
    let _open = tokio::spawn(async move {
        slow_body(
            &addr,
            100_000,
            Duration::from_millis(500),
            Duration::from_secs(60),
        )
        .await
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    tokio::time::timeout(Duration::from_secs(20), system.stop_ingest())
        .await
        .expect("ingestion stops within 20 s despite a slow client");
    system.shutdown().await;
}

/// Sends `GET /healthz` on a new keep-alive connection and returns it once answered.
async fn served_connection(addr: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: beacon\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut head))
        .await
        .expect("no answer within 10 s")
        .unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    stream
}

/// `MAX_CONNECTIONS`: with every slot held by an open connection, one more client waits (it is
/// neither refused nor answered) and is served as soon as a connection closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_max_connections_waits_for_a_free_slot() {
    let system = TestSystem::start_with(&[("MAX_CONNECTIONS", "2")], false).await;
    let addr = system.ingest_url.trim_start_matches("http://").to_owned();
    let first = served_connection(&addr).await;
    let _second = served_connection(&addr).await;
    let waiting = {
        let addr = addr.clone();
        tokio::spawn(async move { served_connection(&addr).await })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !waiting.is_finished(),
        "a third connection was served over MAX_CONNECTIONS=2"
    );
    drop(first);
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("closing a connection did not let the waiting client in")
        .unwrap();
    system.shutdown().await;
}
