// Swagger UI over this node's OpenAPI document; the assets come from this origin (PyPI swagger-ui-bundle).
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
});
