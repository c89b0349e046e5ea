host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

notifier "hook" {
  type = "webhook"
  url  = "ftp://hooks.example.net/lab"
}
