gateway {
  listen = "127.0.0.1:8080"
  tls {
    disabled = true
  }
  rate_limit {
    requests_per_second = 0
  }
}

clock {
  source      = "local"
  ntp_servers = ["time.cloudflare.com", "pool.ntp.org:123"]
  # Pin our own authority key.
  authority_fingerprint = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
}
