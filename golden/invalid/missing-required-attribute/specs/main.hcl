host "forge" {
  parent_dataset = "tank/services"
}
