"""The handler the Custom provider's editor starts from (and Reset goes back to).

It must work as is once its two secrets are set: the browser test saves it unchanged apart from
the secrets and expects a loopback gateway to receive the message.
"""

STARTER_HANDLER = """\
/**
 * Deliver a phone message through your own SMS / voice gateway.
 *
 * Add two secrets in the Secrets panel:
 *   GATEWAY_URL    the HTTPS endpoint that accepts the message
 *   GATEWAY_TOKEN  sent as "Authorization: Bearer <token>"
 *
 * @param {Event} event - event.notification: the recipient and the message.
 * @param {CustomPhoneProviderAPI} api - api.notification.drop() / .retry().
 */
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  const { GATEWAY_URL, GATEWAY_TOKEN } = event.secrets;
  const notification = event.notification;

  const response = await fetch(GATEWAY_URL, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "Authorization": "Bearer " + GATEWAY_TOKEN,
    },
    body: JSON.stringify({
      to: notification.recipient,
      delivery_method: notification.delivery_method,
      message_type: notification.message_type,
      text: notification.delivery_method === "voice"
        ? notification.as_voice
        : notification.as_text,
    }),
  });

  if (response.status >= 500) {
    // The gateway is having trouble: try again later.
    api.notification.retry("Gateway error " + response.status);
    return;
  }
  if (response.status >= 400) {
    // The gateway refused this message: retrying will not help.
    api.notification.drop("Gateway refused the message (" + response.status + ")");
    return;
  }
  console.log("Gateway accepted the message: HTTP " + response.status);
};
"""
