service "web" {
  user  = "nginx"
  group = "nginx"
}

service "db" {
  dataset { profile = "postgres" }
  user  = "postgres"
  group = "postgres"
  mode  = "0700"
}
