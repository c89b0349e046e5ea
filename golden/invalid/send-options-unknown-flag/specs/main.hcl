host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "vault" {
  replication {
    target       = "backup.example.net:backup/box/vault"
    send_options = "wx"
  }
}
