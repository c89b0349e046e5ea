host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/nix/var"
}

service "sonarr" {}
