host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

notifier "userinfo" {
  type = "ntfy"
  url  = "https://alice:hunter2@ntfy.example.net/homelab"
}

notifier "token-only" {
  type = "ntfy"
  url  = "https://tk_hunter2@ntfy.example.net/homelab"
}

notifier "auth" {
  type = "ntfy"
  url  = "https://ntfy.example.net/homelab?auth=aHVudGVyMg"
}

notifier "hook" {
  type = "webhook"
  url  = "https://hooks.example.net/lab?access_token=hunter2&x=1"
}

notifier "ftp" {
  type = "webhook"
  url  = "ftp://alice:hunter2@hooks.example.net/lab"
}
