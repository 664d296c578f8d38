//go:build !slow

package main

// acvpAllSlowSets is false without the build tag "slow": the SLH-DSA "s"
// sets (about a second per signature) are sampled; `go test -tags slow`
// replays every vector.
const acvpAllSlowSets = false
