host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

notifier "both" {
  type     = "webhook"
  url      = "https://hooks.example.net/lab"
  url_file = "/run/secrets/hook-url"
}

notifier "neither" {
  type = "ntfy"
}

notifier "relative" {
  type     = "webhook"
  url_file = "secrets/hook-url"
}

# LoadCredential= expands specifiers in these paths.
notifier "percent" {
  type       = "ntfy"
  url_file   = "/run/secrets/%H-url"
  token_file = "/run/secrets/%H-token"
}
