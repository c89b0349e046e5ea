# Strings that must reach Nix exactly as written.
host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

restic_repository "odd" {
  url              = "rest:https://backup.example/p\"a$$${ss}/''repo\\x"
  password_file    = "/run/secrets/a b/'quoted' \"double\"/pass"
  environment_file = "/run/secrets/€nv ${"$"}{HOME}"
}

notifier "hook" {
  type = "webhook"
  url  = "https://example.net/hook?a=1&b=$${x}&c=%41"
}

service "weird" {
  mountpoint = "/srv/weird dir/with 'quotes' and \"dq\""
  dataset {
    properties = { "org.example:note" = "no tab, ''not a string'', \\back" }
  }
  backup {
    repository = "odd"
    exclude    = ["**/[$]{x}", "it's \"quoted\"", "ünïcødé/*", "back\\slash"]
    tags       = ["a%b", "c$d"]
  }
  notify = ["hook"]
}
