host "db" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "postgresql" {
  postgresql {}
  preseed { methods = ["pgbackrest"] }
}
