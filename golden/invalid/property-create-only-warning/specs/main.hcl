host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "sonarr" {
  dataset {
    properties = { encryption = "aes-256-gcm", keyformat = "passphrase" }
  }
}
