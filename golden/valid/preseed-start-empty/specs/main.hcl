host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "grafana" {
  user  = "grafana"
  group = "grafana"
  preseed {
    methods    = ["local"]
    timeout    = "5m"
    on_failure = "start-empty"
  }
}
