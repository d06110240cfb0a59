/**
 * Answers what node:http itself refuses before a request reaches Fastify's routes — headers or body not
 * sent within `headers_timeout_s` / `body_timeout_s` (408), headers too large (431), malformed HTTP
 * (400) — in the OpenAI error shape instead of Fastify's, then closes the connection. It is Fastify's
 * `clientErrorHandler`; errors inside Fastify (body limits, content types) go through the error mapper.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ApiError } from './errors.ts';

function clientErrorAnswer(
  error: Error & { code?: string },
  timeouts: { headersS: number; bodyS: number },
): ApiError {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new ApiError(
      408,
      `The request was not received in time: headers must arrive within ${timeouts.headersS}s and the whole request within ${timeouts.bodyS}s.`,
      { code: 'request_timeout' },
    );
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return new ApiError(431, 'The request headers are too large.', { code: 'request_headers_too_large' });
  }
  return new ApiError(400, 'Malformed HTTP request.', { code: 'bad_request' });
}

export function answerClientError(
  error: Error & { code?: string },
  socket: Socket,
  timeouts: { headersS: number; bodyS: number },
): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // A response already under way (its headers are out) cannot get a second status line.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const answer = clientErrorAnswer(error, timeouts);
  const body = JSON.stringify(answer.toBody());
  socket.end(
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}
