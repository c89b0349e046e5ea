host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

notifier "phone" {
  type       = "ntfy"
  url        = "https://ntfy.example.net/lab"
  token_file = "ntfy-token"
}
