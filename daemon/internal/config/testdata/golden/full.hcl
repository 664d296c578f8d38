# Every attribute set.
data_dir = "/var/lib/aunsorm"

log {
  level  = "debug"
  format = "json"
}

gateway {
  listen           = "0.0.0.0:8443"
  max_body_bytes   = 65536
  read_timeout     = "5s"
  write_timeout    = "10s"
  idle_timeout     = "1m"
  upstream_timeout = "2500ms"

  tls {
    cert_file = "/etc/aunsorm/tls/cert.pem"
    key_file  = "/etc/aunsorm/tls/key.pem"
  }

  rate_limit {
    requests_per_second = 12.5
    burst               = 25
  }
}

clock {
  source                = "remote"
  max_age               = "10s"
  refresh_url           = "https://attestor.example.net/clock/attestation"
  authority_fingerprint = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
}

rng {
  reseed_interval = "1h"
}

admin {
  socket     = "/run/aunsorm/admin.sock"
  listen     = "127.0.0.1:50020"
  token_file = "/etc/aunsorm/admin.token"
}

plugin "crypto" {
  command = "/opt/aunsorm/bin/aunsorm-plugin-crypto"
  args    = ["-v", "--mode=fast"]
  sha256  = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
  env = {
    GODEBUG = "madvdontneed=1"
  }
}

plugin "kms" {
  command = "bin/aunsorm-plugin-kms"
  listen  = "127.0.0.1:60014"
  sandbox       = "required"
  sandbox_read  = ["/etc/aunsorm/kms.key"]
  sandbox_write = ["/var/lib/hsm"]
  sandbox_connect = [443]

  config {
    # opaque to the daemon
    storage "sqlite" {
      path = "kms.db"
    }
    master_key_file = "/etc/aunsorm/kms.key"
    notes = <<EOT
  heredocs survive
EOT
  }
}

plugin "my-hsm" {
  command = "./vendor-plugins/my-hsm"
  listen  = "[::1]:60100"
  sandbox = "off"
}
