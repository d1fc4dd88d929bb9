import { render } from 'preact';
import { App } from './app.jsx';
import { connect, endpointOf } from './chain.js';

const root = document.getElementById('app');
let endpoint;
try {
  endpoint = endpointOf(window.location.search);
} catch (e) {
  root.textContent = e.message;
  throw e;
}
render(<App endpoint={endpoint} connect={connect} />, root);
