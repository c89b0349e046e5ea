host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

notifier "phone" {
  type = "ntfy.sh"
  url  = "https://ntfy.example.net/lab"
}
