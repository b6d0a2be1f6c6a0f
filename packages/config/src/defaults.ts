/** The default deployment: the US in five Census-based regions (DESIGN §1). */
export const DEFAULT_REGION_STATES = {
  NE: ["CT", "ME", "MA", "NH", "RI", "VT", "NJ", "NY", "PA"],
  South: [
    "DE",
    "DC",
    "FL",
    "GA",
    "MD",
    "NC",
    "SC",
    "VA",
    "WV",
    "AL",
    "KY",
    "MS",
    "TN",
    "AR",
    "LA",
    "PR",
    "VI",
  ],
  MW: ["IL", "IN", "MI", "OH", "WI", "IA", "KS", "MN", "MO", "NE", "ND", "SD"],
  SW: ["TX", "OK", "NM", "AZ", "CO", "UT", "NV"],
  CA: ["CA", "OR", "WA", "ID", "MT", "WY", "AK", "HI", "GU", "AS", "MP"],
} as const satisfies Record<string, readonly string[]>;

/** First loopback port of the default cluster; region i uses BASE + 10·i + 0..4. */
export const DEFAULT_BASE_PORT = 7100;
export const DEFAULT_GATEWAY_PORT = 8080;
