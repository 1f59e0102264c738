import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { createBackend } from './lib/backend';
import { AppState } from './lib/app.svelte';

createBackend().then((backend) => {
  mount(App, { target: document.getElementById('app')!, props: { app: new AppState(backend) } });
});
