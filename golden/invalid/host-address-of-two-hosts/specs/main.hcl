host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
  services       = []
  addresses      = ["nas.lan", "10.0.0.5"]
}

host "nas" {
  parent_dataset = "backup/nixgen"
  parent_mount   = "/srv"
  services       = []
  addresses      = ["NAS.lan", "forge", "10.0.0.5.", "nas"]
}
