package main

import (
	"bytes"
	"path/filepath"
	"slices"
	"testing"
)

// SLH-DSA ACVP vectors through the HTTP handler. Every fast ("f") set is
// replayed in full. Without the build tag "slow", each "s" set runs two
// keyGen vectors; the six sigGen group kinds (deterministic or hedged ×
// pure, pre-hash or internal) run one vector each on four of the "s" sets;
// and every sigVer vector runs (verification is fast). `go test -tags slow`
// replays everything.

type slhSigGroup struct {
	TgID          int    `json:"tgId"`
	ParameterSet  string `json:"parameterSet"`
	Deterministic bool   `json:"deterministic"`
	Interface     string `json:"signatureInterface"`
	PreHash       string `json:"preHash"`
	Tests         []struct {
		TcID    int      `json:"tcId"`
		Sk      hexBytes `json:"sk"`
		Pk      hexBytes `json:"pk"`
		Message hexBytes `json:"message"`
		Context hexBytes `json:"context"`
		HashAlg string   `json:"hashAlg"`
		AddRand hexBytes `json:"additionalRandomness"`
		Sig     hexBytes `json:"signature"`
	} `json:"tests"`
}

// slhOptions maps a group and test to the request's interface fields.
func slhOptions(g *slhSigGroup, hashAlg string) (iface, preHash string) {
	if g.Interface == "internal" {
		return interfaceInternal, ""
	}
	if g.PreHash == "preHash" {
		return interfacePure, hashAlg
	}
	return interfacePure, ""
}

func loadSLHGroups(t *testing.T, path string) []slhSigGroup {
	var prompt acvpFile
	readGzipJSON(t, path, &prompt)
	groups := make([]slhSigGroup, len(prompt.TestGroups))
	for i, raw := range prompt.TestGroups {
		mustUnmarshal(t, raw, &groups[i])
	}
	return groups
}

func TestACVPSLHDSA(t *testing.T) {
	t.Parallel()
	dir := circlTestdata(t, "sign", "slhdsa", "testdata")
	t.Run("keyGen", func(t *testing.T) {
		t.Parallel()
		srv := newACVPServer(t, implCircl)
		var prompt acvpFile
		readGzipJSON(t, filepath.Join(dir, "keyGen_prompt.json.gz"), &prompt)
		results := acvpResults(t, filepath.Join(dir, "keyGen_results.json.gz"))
		n := 0
		for _, raw := range prompt.TestGroups {
			var g struct {
				ParameterSet string `json:"parameterSet"`
				Tests        []struct {
					TcID   int      `json:"tcId"`
					SkSeed hexBytes `json:"skSeed"`
					SkPrf  hexBytes `json:"skPrf"`
					PkSeed hexBytes `json:"pkSeed"`
				} `json:"tests"`
			}
			mustUnmarshal(t, raw, &g)
			for i, tc := range g.Tests {
				if isSlowSet(g.ParameterSet) && !acvpAllSlowSets && i >= 2 {
					break
				}
				var want struct {
					Sk hexBytes `json:"sk"`
					Pk hexBytes `json:"pk"`
				}
				result(t, results, tc.TcID, &want)
				seed := bytes.Join([][]byte{tc.SkSeed, tc.SkPrf, tc.PkSeed}, nil)
				var got sigKeygenResponse
				srv.post(t, "/pqc/slh-dsa/keygen", sigKeygenRequest{Algorithm: g.ParameterSet, Seed: encode64(seed)}, &got)
				if !bytes.Equal(b64d(t, got.PublicKey), want.Pk) || !bytes.Equal(b64d(t, got.PrivateKey), want.Sk) {
					t.Fatalf("tcId %d (%s): key pair differs", tc.TcID, g.ParameterSet)
				}
				n++
			}
		}
		t.Logf("%d keyGen vectors matched", n)
		if acvpAllSlowSets && n != 120 || !acvpAllSlowSets && n != 72 {
			t.Fatalf("ran %d keyGen vectors", n)
		}
	})
	t.Run("sigGen", func(t *testing.T) {
		t.Parallel()
		groups := loadSLHGroups(t, filepath.Join(dir, "sigGen_prompt.json.gz"))
		results := acvpResults(t, filepath.Join(dir, "sigGen_results.json.gz"))
		// Sampling of the slow sets: each of the six group kinds runs once,
		// on the cheaper "s" sets; the other "s" sets are covered by sigVer.
		samples := map[string][]string{
			"SLH-DSA-SHA2-128s":  {slhGroupKind(true, "external", "pure"), slhGroupKind(false, "external", "pure")},
			"SLH-DSA-SHA2-192s":  {slhGroupKind(true, "external", "preHash"), slhGroupKind(false, "external", "preHash")},
			"SLH-DSA-SHA2-256s":  {slhGroupKind(true, "internal", "")},
			"SLH-DSA-SHAKE-128s": {slhGroupKind(false, "internal", "")},
		}
		var sets []string
		bySet := map[string][]*slhSigGroup{}
		for i := range groups {
			g := &groups[i]
			if _, ok := bySet[g.ParameterSet]; !ok {
				sets = append(sets, g.ParameterSet)
			}
			bySet[g.ParameterSet] = append(bySet[g.ParameterSet], g)
		}
		for _, set := range sets {
			sampled := isSlowSet(set) && !acvpAllSlowSets
			if sampled && len(samples[set]) == 0 {
				continue
			}
			t.Run(set, func(t *testing.T) {
				t.Parallel()
				srv := newACVPServer(t, implCircl)
				n := 0
				for _, g := range bySet[set] {
					kind := slhGroupKind(g.Deterministic, g.Interface, g.PreHash)
					if sampled && !slices.Contains(samples[set], kind) {
						continue
					}
					for _, tc := range g.Tests {
						var want struct {
							Signature hexBytes `json:"signature"`
						}
						result(t, results, tc.TcID, &want)
						iface, preHash := slhOptions(g, tc.HashAlg)
						det := g.Deterministic
						var rnd []byte
						if !det {
							rnd = tc.AddRand
						}
						var got sigSignResponse
						srv.post(t, "/pqc/slh-dsa/sign", sigSignRequest{
							Algorithm: set, PrivateKey: encode64(tc.Sk), Message: encode64(tc.Message),
							Context: encode64(tc.Context), Deterministic: &det, Interface: iface, PreHash: preHash,
						}, &got, rnd)
						if !bytes.Equal(b64d(t, got.Signature), want.Signature) {
							t.Fatalf("tcId %d (%s, %s): signature differs", tc.TcID, set, kind)
						}
						n++
						if sampled {
							break
						}
					}
				}
				if n == 0 {
					t.Fatalf("no sigGen vector ran for %s", set)
				}
			})
		}
	})
	t.Run("sigVer", func(t *testing.T) {
		t.Parallel()
		srv := newACVPServer(t, implCircl)
		groups := loadSLHGroups(t, filepath.Join(dir, "verify_prompt.json.gz"))
		results := acvpResults(t, filepath.Join(dir, "verify_results.json.gz"))
		n, rejected := 0, 0
		for i := range groups {
			g := &groups[i]
			for _, tc := range g.Tests {
				var want struct {
					TestPassed bool `json:"testPassed"`
				}
				result(t, results, tc.TcID, &want)
				iface, preHash := slhOptions(g, tc.HashAlg)
				var got sigVerifyResponse
				srv.post(t, "/pqc/slh-dsa/verify", sigVerifyRequest{
					Algorithm: g.ParameterSet, PublicKey: encode64(tc.Pk), Message: encode64(tc.Message),
					Signature: encode64(tc.Sig), Context: encode64(tc.Context), Interface: iface, PreHash: preHash,
				}, &got)
				if got.Valid != want.TestPassed {
					t.Fatalf("tcId %d (%s): valid=%v, want %v (%s)", tc.TcID, g.ParameterSet, got.Valid, want.TestPassed, got.Reason)
				}
				if !want.TestPassed {
					rejected++
				}
				n++
			}
		}
		if n != 504 || rejected == 0 {
			t.Fatalf("ran %d sigVer vectors (%d rejections), want 504 with rejections", n, rejected)
		}
	})
}
