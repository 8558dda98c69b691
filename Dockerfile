# Builds the three Beacon services into one small runtime image, with the stats page that
# report_service serves at / (dashboard/: plain files, nothing to build).
#   docker build -t beacon .
#   docker run beacon post_service   (or worker, report_service)
FROM rust:1.96-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake pkg-config libcurl4-openssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p beacon-backend --bins

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home beacon
COPY --from=build /src/target/release/post_service /src/target/release/worker \
     /src/target/release/report_service /src/target/release/beacon-admin /usr/local/bin/
COPY dashboard /usr/share/beacon/dashboard
USER beacon
ENV BIND_HOST=0.0.0.0 LOG_FORMAT=json DASHBOARD_DIR=/usr/share/beacon/dashboard
EXPOSE 3000 4000
CMD ["post_service"]
