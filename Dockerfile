# syntax=docker/dockerfile:1
# Build: cgo against Debian bookworm's libyara (4.2.3; go-yara is pinned to v4.2.4 for it).
FROM golang:1.26-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libyara-dev pkg-config && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/triage ./cmd/triage

# Run: only the YARA runtime library; rules are embedded in the binary.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libyara9 ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/triage --create-home triage
COPY --from=build /out/triage /usr/local/bin/triage
USER triage
WORKDIR /var/lib/triage
ENTRYPOINT ["/usr/local/bin/triage"]
CMD ["--help"]
