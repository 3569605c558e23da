package org.halyard.rest;

import javax.ws.rs.WebApplicationException;
import javax.ws.rs.core.Context;
import javax.ws.rs.core.MediaType;
import javax.ws.rs.core.Request;
import javax.ws.rs.core.Response;
import javax.ws.rs.core.UriInfo;
import javax.ws.rs.ext.ExceptionMapper;
import org.halyard.rest.api.ApiError;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every exception becomes an OpenAI-shaped error. Client errors keep their status and say what
 * to fix; anything unexpected is logged and answered with a 500 that leaks no internals.
 */
@Component(service = ExceptionMapper.class)
@JaxrsExtension
public class ErrorMapper implements ExceptionMapper<Throwable> {

    private static final Logger LOG = LoggerFactory.getLogger(ErrorMapper.class);

    @Context
    private UriInfo uriInfo;

    @Context
    private Request request;

    @Override
    public Response toResponse(Throwable e) {
        if (e instanceof WebApplicationException w) {
            Response r = w.getResponse();
            if (r != null && r.hasEntity() && r.getEntity() instanceof ApiError.Envelope) {
                return r;
            }
            int status = r == null ? 500 : r.getStatus();
            String where = request == null || uriInfo == null ? ""
                    : " (" + request.getMethod() + " /" + uriInfo.getPath(false).replaceFirst("^/", "") + ")";
            String message = switch (status) {
                case 404 -> "No such endpoint" + where + ". Endpoints: GET /v1/models, POST /v1/completions, "
                        + "POST /v1/chat/completions, POST /tokenize, POST /detokenize, GET /health, GET /ready.";
                case 405 -> "Method not allowed" + where + "; allowed here: " + r.getAllowedMethods() + ".";
                case 406 -> "Cannot produce the media type in the Accept header" + where + "; accept application/json.";
                case 415 -> "Unsupported Content-Type" + where + "; send Content-Type: application/json.";
                default -> e.getMessage() == null ? String.valueOf(Response.Status.fromStatusCode(status)) : e.getMessage();
            };
            Response.ResponseBuilder b = Response.fromResponse(ApiError.response(status, message));
            if (r != null) {
                r.getHeaders().forEach((k, v) -> {
                    if (!k.equalsIgnoreCase("Content-Type") && !k.equalsIgnoreCase("Content-Length")) {
                        v.forEach(x -> b.header(k, x));
                    }
                });
            }
            return b.type(MediaType.APPLICATION_JSON_TYPE).build();
        }
        LOG.error("Unexpected error answering a request", e);
        return ApiError.response(500, "Internal error; the server log has the details.");
    }
}
