//go:build slow

package main

// acvpAllSlowSets is true with the build tag "slow": every SLH-DSA vector,
// including all of the "s" sets, is replayed.
const acvpAllSlowSets = true
