service "radarr" {}

service "sonarr" {
  user = "sonarr"
}
