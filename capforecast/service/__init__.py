"""The REST API: capforecast as a service other systems call (``capforecast serve``)."""
