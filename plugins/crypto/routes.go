package main

import "net/http"

// route is one line of the API table.
type route struct {
	method string
	path   string
	handle handlerFunc
}

// routes is the whole API of the plugin, one line per endpoint.
func (s *server) routes() []route {
	return []route{
		{http.MethodPost, "/crypto/encrypt", s.encrypt},
		{http.MethodPost, "/crypto/decrypt", s.decrypt},
		{http.MethodPost, "/crypto/keypair", s.keypair},
		{http.MethodPost, "/crypto/sign", s.sign},
		{http.MethodPost, "/crypto/verify", s.verify},
		{http.MethodPost, "/crypto/hmac", s.hmac},
		{http.MethodPost, "/crypto/hash", s.hash},
		{http.MethodPost, "/crypto/derive-key", s.deriveKey},
		{http.MethodGet, "/crypto/random", s.randomBytes},
		{http.MethodGet, "/random/number", s.randomNumber},
	}
}

// capabilities lists what the plugin implements, as "group:algorithm", for
// the Describe call. It is built from the same tables the handlers use.
func capabilities() []string {
	var caps []string
	for _, a := range aeadAlgorithms() {
		caps = append(caps, "aead:"+a.name)
	}
	for _, a := range signAlgorithms() {
		caps = append(caps, "sign:"+a.name)
	}
	for _, a := range macAlgorithms() {
		caps = append(caps, "mac:"+a.name)
	}
	for _, a := range hashAlgorithms() {
		caps = append(caps, "hash:"+a.name)
	}
	for _, a := range kdfAlgorithms() {
		caps = append(caps, "kdf:"+a.name)
	}
	return append(caps, "random:bytes", "random:number")
}
