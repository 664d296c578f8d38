data_dir = "state"

plugin "crypto" {
  command = "bin/aunsorm-plugin-crypto"
  listen  = "0.0.0.0:50012"
}

plugin "pqc" {
  command = "bin/aunsorm-plugin-pqc"
  listen  = "127.0.0.1:0" # any free port
  config { strict = true }
}

plugin "acme" {
  command = "bin/aunsorm-plugin-acme"
  config {}
}
