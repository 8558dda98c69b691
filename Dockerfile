# Builds the three Beacon services and the browser tracker into one small runtime image.
#   docker build -t beacon .
#   docker run beacon post_service   (or worker, report_service)
# post_service serves the tracker (GET /beacon.js) from TRACKER_DIR.
FROM rust:1.96-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake pkg-config libcurl4-openssl-dev zlib1g-dev \
      nodejs npm brotli \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p beacon-backend --bins
# The tracker exactly as scripts/build-site builds it (pinned Trunk, wasm-bindgen, binaryen and
# terser; offline Trunk), packaged with content-hashed names into dist/tracker.
RUN bash -c 'source scripts/lib/common.sh && source scripts/lib/tracker.sh \
      && ensure_tracker_tools && build_site'

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home beacon
COPY --from=build /src/target/release/post_service /src/target/release/worker \
     /src/target/release/report_service /src/target/release/beacon-admin /usr/local/bin/
COPY --from=build /src/dist/tracker /usr/share/beacon/tracker
USER beacon
ENV BIND_HOST=0.0.0.0 LOG_FORMAT=json TRACKER_DIR=/usr/share/beacon/tracker
EXPOSE 3000 4000
CMD ["post_service"]
