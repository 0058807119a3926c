//! A cluster this process owns: booted by the cluster engine, followed to `Ready` by the
//! readiness engine, serving the owner socket, carrying out commands, torn down in order.
//! `n3x cluster up`, the workbench and the test runner all go through here.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::followed::{qmp_command, topology};
use super::{Command, SessionError, SessionUpdate, Updates, socket};
use crate::cluster::engine::{self, Cluster, ClusterUpdate, Options};
use crate::profile::Profiles;
use crate::readiness::{self, Expectations, Report};
use crate::supervise::Supervisor;

/// Requests from the owner socket that may wait while the owner is busy.
const REQUESTS_QUEUED: usize = 16;

/// A running cluster this process owns and what serving it needs.
#[derive(Debug)]
pub struct Owner {
    cluster: Cluster,
    profiles: Arc<Profiles>,
    updates: Updates,
}

impl Owner {
    /// Boots the cluster of `options`: image, layers, switches, cables, nodes. Returns once
    /// every QEMU runs; [`SessionUpdate::Started`] says the same (or why it could not start)
    /// on `updates`, where the cluster engine's updates arrive too.
    pub async fn boot(
        profiles: Arc<Profiles>,
        options: Options,
        supervisor: Supervisor,
        updates: Updates,
    ) -> Result<Owner, Arc<SessionError>> {
        let cluster = engine::up(
            Arc::clone(&profiles),
            options,
            supervisor,
            updates.map(SessionUpdate::Cluster),
        )
        .await
        .map_err(|e| Arc::new(SessionError::from(e)));
        updates.send(SessionUpdate::Started(
            cluster.as_ref().map(|c| c.info.clone()).map_err(Arc::clone),
        ));
        Ok(Owner {
            cluster: cluster?,
            profiles,
            updates,
        })
    }

    /// The running cluster.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// What readiness expects of this cluster by default: every node of its plan, every k3s
    /// node `Ready`.
    pub fn expectations(&self) -> Expectations {
        Expectations::for_plan(&self.cluster.plan)
    }

    /// Follows every node `expect` names through its readiness stages, publishing them; the
    /// future owns what it needs (it can be spawned) and ends with the report.
    pub fn readiness(&self, expect: Expectations) -> impl Future<Output = Report> + Send + 'static {
        readiness::start(
            &self.cluster,
            Arc::clone(&self.profiles),
            expect,
            self.updates.map(SessionUpdate::Readiness),
        )
    }

    /// Carries out `command` on the cluster; what was done, in words. [`Command::Down`] is
    /// [`Owner::down`]'s, not this.
    pub async fn command(&mut self, command: &Command) -> Result<String, SessionError> {
        let c = &mut self.cluster;
        Ok(match command {
            Command::Restart(n) => c.restart_node(n).await.map(|()| format!("{n} restarted"))?,
            Command::Stop(n) => c.stop_node(n).await.map(|()| format!("{n} stopped"))?,
            Command::Start(n) => c.start_node(n).await.map(|()| format!("{n} started"))?,
            Command::Link { .. } | Command::Reset(_) | Command::Kill(_) => {
                qmp_command(&c.info, command).await?
            }
            Command::Topology => topology(&c.info).await,
            Command::Down => return Err(SessionError::NotRunning),
        })
    }

    /// Serves the cluster until it is asked to go down, by `commands` or on the owner socket:
    /// every node is followed to `Ready` ([`SessionUpdate::Report`] at the end), commands are
    /// carried out (their outcome published), then the cluster is torn down.
    pub async fn serve(mut self, mut commands: mpsc::Receiver<Command>) {
        let report = {
            let follow = self.readiness(self.expectations());
            let updates = self.updates.clone();
            tokio::spawn(async move {
                let report = follow.await;
                updates.send(SessionUpdate::Report(report));
            })
        };
        let (requests, mut asked) = mpsc::channel::<socket::Request>(REQUESTS_QUEUED);
        // Other n3x processes may restart nodes or tear the cluster down.
        let server = self
            .cluster
            .info
            .owner_socket
            .clone()
            .map(|s| tokio::spawn(socket::serve(s, requests)));
        loop {
            tokio::select! {
                Some(command) = commands.recv() => {
                    if command == Command::Down {
                        break;
                    }
                    let result = self.command(&command).await;
                    self.tell(&command, result);
                }
                Some((command, reply)) = asked.recv() => {
                    if command == Command::Down {
                        let _ = reply.send(Ok("tearing the cluster down".into()));
                        break;
                    }
                    let _ = reply.send(self.command(&command).await);
                }
                else => break,
            }
        }
        report.abort();
        if let Some(server) = server {
            server.abort();
        }
        self.down().await;
    }

    /// Publishes the outcome of a command given in this process (the engine notes restarts
    /// itself; a failure names the node).
    fn tell(&self, command: &Command, result: Result<String, SessionError>) {
        let update = match (command, result) {
            (Command::Topology, Ok(text)) => ClusterUpdate::Topology(text),
            (Command::Restart(_) | Command::Stop(_) | Command::Start(_), Ok(_)) => return,
            (Command::Link { .. } | Command::Reset(_) | Command::Kill(_), Ok(done)) => {
                ClusterUpdate::Note(done)
            }
            (_, Ok(done)) => ClusterUpdate::Note(done),
            (_, Err(e @ (SessionError::Qmp { .. } | SessionError::NoNode { .. }))) => {
                ClusterUpdate::Note(e.to_string())
            }
            (c, Err(e)) => ClusterUpdate::Note(match c.node() {
                Some(node) => format!("{node}: {e}"),
                None => e.to_string(),
            }),
        };
        self.updates.send(SessionUpdate::Cluster(update));
    }

    /// Stops the nodes, then the cables and switches, waits for all of them and removes the
    /// runtime directory ([`SessionUpdate::Stopping`], then [`SessionUpdate::Stopped`]).
    pub async fn down(self) {
        self.updates.send(SessionUpdate::Stopping);
        self.cluster.down().await;
        self.updates.send(SessionUpdate::Stopped);
    }
}
