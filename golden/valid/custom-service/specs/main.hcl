host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "home-assistant" {
  unit       = "home-assistant.service"
  user       = "hass"
  group      = "hass"
  mode       = "2770"
  mountpoint = "/var/lib/hass"
  dataset {
    name       = "hass"
    recordsize = "32K"
    properties = {
      atime           = "off"
      casesensitivity = "insensitive"
      "org.example:owner" = "ops team"
    }
  }
}

service "mosquitto" {
  unit = "mosquitto-broker.service"
  dataset { name = "mqtt/mosquitto" }
}
