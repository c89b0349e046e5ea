host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

# `validate` used to accept a service unit named like a generated one.
service "web" {
  unit = "nixgen-x.service"
}

service "db" {
  unit    = "nixgen-preseed-web.service"
  preseed { methods = ["local"] }
}
