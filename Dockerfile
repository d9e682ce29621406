# Multi-stage build: a static edge binary on a minimal, non-root image.
# Mount the config at /etc/edge/edge.yaml (or pass -config).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/edge ./cmd/edge

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/edge /usr/local/bin/edge
COPY configs/edge.yaml /etc/edge/edge.yaml
USER nonroot:nonroot
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/edge"]
CMD ["-config", "/etc/edge/edge.yaml"]
