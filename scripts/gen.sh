#!/usr/bin/env bash
# Regenerates the protobuf code under sdk/proto. Installs the pinned generators
# when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"
command -v protoc >/dev/null || { echo "gen: protoc missing (apt-get install protobuf-compiler)" >&2; exit 1; }
go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.11
go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
cd sdk/proto/pluginv1
protoc -I . --go_out=. --go_opt=paths=source_relative \
  --go-grpc_out=. --go-grpc_opt=paths=source_relative plugin.proto
